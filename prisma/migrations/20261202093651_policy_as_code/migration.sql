-- AlterTable
ALTER TABLE "tenant" ADD COLUMN     "managed_by" TEXT;

-- AlterTable
ALTER TABLE "api_token" ADD COLUMN     "policy_as_code" BOOLEAN NOT NULL DEFAULT false;
