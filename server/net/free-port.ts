/**
 * freePort: a TCP port on 127.0.0.1 that the kernel just handed out as free (listen on 0,
 * read the port, close). Used where a process must be told its port before it starts
 * (embedded Postgres, spawned gateways, the e2e servers). The port can be taken again
 * between this call and its use; on a shared machine that window is far smaller than the
 * chance of a random pick landing on a port in use.
 */
import { createServer } from "node:net";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}
