-- CreateTable
CREATE TABLE "sign_in_guard" (
    "key" TEXT NOT NULL,
    "failures" INTEGER NOT NULL DEFAULT 0,
    "last_failure_at" TIMESTAMPTZ(3),
    "last_success_at" TIMESTAMPTZ(3),

    CONSTRAINT "sign_in_guard_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "admin_token_use" (
    "jti" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "admin_token_use_pkey" PRIMARY KEY ("jti")
);

-- CreateIndex
CREATE INDEX "admin_token_use_expires_at_idx" ON "admin_token_use"("expires_at");
