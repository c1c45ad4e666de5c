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
