import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { gzip } from "./gzip";

// `npm run dev` serves the app with hot reload and hands the API to a hub
// running on its default address (`cargo xtask run`).
export default defineConfig({
  plugins: [svelte(), gzip()],
  build: {
    target: "es2022",
    sourcemap: true,
    // The inbox is one small bundle: no warning below the budget we hold it to.
    chunkSizeWarningLimit: 300,
  },
  server: {
    proxy: {
      "/graphql": { target: "http://127.0.0.1:8080", ws: true },
      "/files": "http://127.0.0.1:8080",
    },
  },
});
