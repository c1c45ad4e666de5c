// Shared by the browser tests: Debian's chromium, headless, with nothing that reaches
// the network by itself; and a failure that marks the run failed without stopping it.
import { chromium } from "playwright-core";

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

export function fail(msg) {
  console.error("FAIL: " + msg);
  process.exitCode = 1;
}

// POSTs JSON to a table's API (with a valgsekretær token when given); the answer, or an
// error naming the path and status.
export function poster(base) {
  return async function api(path, body, token) {
    const headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    const res = await fetch(base + path, { method: "POST", headers, body: JSON.stringify(body ?? {}) });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(data)}`);
    return data;
  };
}
