/** The policy diff lives with the engine (server/policy/diff-documents.ts: ctl uses it too). */
export * from "../../policy/diff-documents";
