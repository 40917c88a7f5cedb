/**
 * The tester's frame reader (server/tester/ws-frame.ts) and its redaction of the credentials
 * it sent (server/tester/redaction.ts). Frames are encoded by the real `ws` library's Sender,
 * so the reader is checked against what a server really writes: every length form, masked
 * and not, split at every byte.
 */
import { describe, expect, it } from "vitest";
import * as wsModule from "ws";
import { REDACTED, Redactor, redactedLength, secretValues } from "../../server/tester/redaction";
import { closeOf, maskedCloseFrame, readFrame } from "../../server/tester/ws-frame";

// ws's frame encoder (not in its type definitions): the bytes a real server writes.
const { Sender } = wsModule as unknown as {
  Sender: {
    frame(
      data: Buffer,
      options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean },
    ): Buffer[];
  };
};

function encode(payload: Buffer, opcode: number, mask: boolean): Buffer {
  // A copy: the Sender masks a buffer it may write to in place.
  return Buffer.concat(Sender.frame(Buffer.from(payload), { fin: true, opcode, mask, readOnly: false, rsv1: false }));
}

describe("readFrame", () => {
  it.each([
    ["empty", 0],
    ["7-bit length", 125],
    ["16-bit length", 126],
    ["16-bit length, largest", 65_535],
    ["64-bit length", 65_536],
  ])("%s (%i bytes), masked and unmasked, followed by the next frame", (_name, size) => {
    const payload = Buffer.alloc(size, 0x61);
    for (const mask of [false, true]) {
      const first = encode(payload, 0x2, mask);
      const next = encode(Buffer.from([0x03, 0xe8]), 0x8, mask);
      const frame = readFrame(Buffer.concat([first, next]), 1 << 20);
      expect(frame).not.toBeNull();
      expect(frame!.opcode).toBe(0x2);
      expect(frame!.payload.equals(payload)).toBe(true);
      expect(frame!.length).toBe(first.length);
    }
  });

  it("needs more bytes at every split point of a frame (header and payload)", () => {
    const whole = encode(Buffer.from("a close reason that spans a few bytes"), 0x8, true);
    for (let cut = 0; cut < whole.length; cut++) expect(readFrame(whole.subarray(0, cut), 1 << 20)).toBeNull();
    expect(readFrame(whole, 1 << 20)?.length).toBe(whole.length);
  });

  it("a 64-bit length beyond the scan bound is read as the bound, not waited for", () => {
    const header = Buffer.from([0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0]); // 2^32 bytes declared
    const body = Buffer.alloc(16, 0x62);
    const frame = readFrame(Buffer.concat([header, body]), 16);
    expect(frame?.payload.length).toBe(16);
  });
});

describe("closeOf and maskedCloseFrame", () => {
  it("reads the code and reason, 1005 when the payload has none", () => {
    expect(closeOf(Buffer.concat([Buffer.from([0x0f, 0xa0]), Buffer.from("bye")]))).toEqual({
      code: 4000,
      reason: "bye",
    });
    expect(closeOf(Buffer.alloc(0))).toEqual({ code: 1005, reason: "" });
  });

  it("our own close frame is masked and decodes to its code", () => {
    const frame = maskedCloseFrame(1000);
    expect(frame[1]! & 0x80).toBe(0x80);
    const read = readFrame(frame, 125);
    expect(read?.opcode).toBe(0x8);
    expect(closeOf(read!.payload).code).toBe(1000);
  });
});

describe("redaction of the credentials sent", () => {
  const sent = {
    token: "eyJhbGciOiJIUzI1NiJ9.payload.signature",
    subprotocols: ["chat", "bearer.another-token-value"],
    authorization: "Bearer abc-secret-123",
    cookie: "session=cookie-value-1; theme=dark",
  };

  it("collects whole values and their parts, longest first, ignoring short ones", () => {
    const values = secretValues(sent);
    expect(values).toContain(sent.token);
    expect(values).toContain("another-token-value");
    expect(values).toContain("abc-secret-123");
    expect(values).toContain("cookie-value-1");
    expect(values).toContain("dark");
    expect(values).not.toContain("chat");
    for (let i = 1; i < values.length; i++) expect(values[i - 1]!.length).toBeGreaterThanOrEqual(values[i]!.length);
  });

  it("hides every echo of them, and Set-Cookie values but not their attributes", () => {
    const redactor = new Redactor(secretValues(sent));
    expect(redactor.text(`echo ${sent.token} and abc-secret-123`)).toBe(`echo ${REDACTED} and ${REDACTED}`);
    expect(redactor.header("Set-Cookie", "sid=fresh-server-value; Path=/; SameSite=None; Secure")).toBe(
      `sid=${REDACTED}; Path=/; SameSite=None; Secure`,
    );
    expect(redactor.header("X-Echo", "cookie-value-1")).toBe(REDACTED);
    expect(redactedLength("12345")).toBe(`${REDACTED} (5 characters)`);
  });
});
