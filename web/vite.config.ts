/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The Go gateway serves dist/ at "/" (SPA fallback to index.html) and the API
// under /api and /auth. In dev, point BUREAU_GATEWAY at a running gateway.
const gateway = process.env.BUREAU_GATEWAY ?? "http://127.0.0.1:8080";

export default defineConfig({
    plugins: [react()],
    base: "/",
    build: {
        outDir: "dist",
        assetsDir: "assets",
        // Keep everything as files: the CSP forbids inline scripts and data: fonts are pointless.
        assetsInlineLimit: 0,
        sourcemap: false
    },
    server: {
        proxy: {
            "/api": { target: gateway, ws: true },
            "/auth": { target: gateway }
        }
    },
    test: {
        environment: "node",
        include: ["src/**/*.test.ts"]
    }
});
