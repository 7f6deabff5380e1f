// Preloaded into the MCP Inspector CLI (NODE_OPTIONS=--require): adds one HTTP header to every fetch.
// The Inspector 0.15.0 CLI (the newest that runs on Node 20) has no --header option; later versions
// send exactly this header with `--header "Name: value"`.
"use strict";
const name = process.env.MCP_TEST_HEADER_NAME;
const value = process.env.MCP_TEST_HEADER_VALUE;
if (name && value && typeof globalThis.fetch === "function") {
  const original = globalThis.fetch;
  globalThis.fetch = (input, init = {}) => {
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
    headers.set(name, value);
    return original(input, { ...init, headers });
  };
}
