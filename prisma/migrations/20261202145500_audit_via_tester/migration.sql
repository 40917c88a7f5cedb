-- AlterEnum
ALTER TYPE "audit_via" ADD VALUE 'tester';
