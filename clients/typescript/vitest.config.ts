import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The real-binary tests start one todo-api per file.
    testTimeout: 20_000,
    hookTimeout: 120_000,
  },
});
