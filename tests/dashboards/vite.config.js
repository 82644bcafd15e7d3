import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Production build of the test page: `npx vite build` writes dist/index.html + dist/assets/*.
// `base: './'` keeps asset URLs relative so dist/ can be served from any folder.
export default defineConfig({
    base: './',
    plugins: [react()],
    define: { 'process.env': {} },
    build: {
        outDir: 'dist',
        emptyOutDir: true,
        sourcemap: false,
        minify: false,
        reportCompressedSize: false,
        chunkSizeWarningLimit: 100000,
        target: 'es2020',
    },
    logLevel: 'warn',
});
