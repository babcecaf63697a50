/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `npm run dev` serves the UI with hot reload and sends API calls to a local `weft server`.
export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false },
  server: { proxy: { "/v2": "http://127.0.0.1:55054" } },
  test: { include: ["src/**/*.test.ts"], environment: "node" },
});
