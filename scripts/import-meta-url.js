// Injected by esbuild into the fast path's CommonJS bundle (package.json, build:fast-path) for
// `import.meta.url`, which CommonJS has not: the bundle's own URL, as the modules it holds
// resolve paths from it (paths.ts, registry/store.ts).
export const importMetaUrl = require('node:url').pathToFileURL(__filename).href
