/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Two entries served by Django's static files: the canvas editor (flow page) and the monitoring charts.
// Fixed file names without hashes: the build is committed and CI compares a fresh build with it; Django's
// static files add cache busting in production.
export default defineConfig({
  plugins: [react()],
  base: "./",
  build: {
    outDir: "../static/editor",
    emptyOutDir: true,
    sourcemap: false,
    modulePreload: false,
    chunkSizeWarningLimit: 700,
    rolldownOptions: {
      input: { editor: "src/editor/main.tsx", monitoring: "src/monitoring/main.tsx" },
      output: {
        entryFileNames: "[name].js",
        chunkFileNames: "chunk-[name].js",
        assetFileNames: "[name][extname]",
      },
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
