"use client";
/**
 * A QR code drawn as SVG rectangles from uqr's module matrix: no image request, no inline
 * script or style element, so the Content-Security-Policy needs nothing for it. Used for the
 * otpauth:// URI of TOTP enrolment (the same URI is shown as text beside it).
 */
import { encode } from "uqr";

export function QrCode({ value, label, size = 200 }: { value: string; label: string; size?: number }) {
  const qr = encode(value, { ecc: "M", border: 2 });
  const cells: string[] = [];
  qr.data.forEach((row, y) => {
    row.forEach((dark, x) => {
      if (dark) cells.push(`M${x} ${y}h1v1h-1z`);
    });
  });
  return (
    <svg
      role="img"
      aria-label={label}
      width={size}
      height={size}
      viewBox={`0 0 ${qr.size} ${qr.size}`}
      shapeRendering="crispEdges"
      data-testid="totp-qr"
    >
      <rect width={qr.size} height={qr.size} fill="#fff" />
      <path d={cells.join("")} fill="#000" />
    </svg>
  );
}
