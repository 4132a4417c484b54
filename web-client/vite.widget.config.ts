import { defineConfig } from "vite";
import { gzip } from "./gzip";

// The website widget: one self-contained script (`dist/widget.js`) that any
// site embeds with `<script src="https://hub.example.com/widget.js" data-tenant="acme">`.
export default defineConfig({
  plugins: [gzip()],
  build: {
    target: "es2020",
    outDir: "dist",
    emptyOutDir: false,
    sourcemap: false,
    lib: {
      entry: "src/widget/widget.ts",
      name: "HubWidget",
      formats: ["iife"],
      fileName: () => "widget.js",
    },
  },
});
