-- CreateEnum
CREATE TYPE "siem_destination_kind" AS ENUM ('syslog', 'webhook');

-- CreateTable
CREATE TABLE "siem_destination" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "siem_destination_kind" NOT NULL,
    "url" TEXT NOT NULL,
    "secret" TEXT,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_by" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "siem_destination_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "siem_destination_name_key" ON "siem_destination"("name");
