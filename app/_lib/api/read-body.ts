/**
 * Reads a request body whole, up to `maxBytes`: beyond that it is a 413, refused from its
 * Content-Length when it declares one, else as soon as the bytes read pass the limit (the
 * body is never buffered whole).
 */
import "server-only";
import { AppError } from "@/server/domain/errors";

export async function readBodyLimited(request: Request, maxBytes: number): Promise<Buffer> {
  const tooLarge = () =>
    new AppError("payload_too_large", `The request body is larger than ${maxBytes} bytes`, {
      details: { maxBytes },
    });
  const declared = request.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > maxBytes) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(value);
    }
  }
  return Buffer.concat(chunks);
}
