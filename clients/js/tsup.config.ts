import { defineConfig } from 'tsup';

// One build, four entry points, two module formats, declarations for both
// (`.d.ts` next to the ESM files, `.d.cts` next to the CJS ones).
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    react: 'src/react.ts',
    vue: 'src/vue.ts',
    svelte: 'src/svelte.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2020',
  platform: 'neutral',
  // The bindings import the framework packages; they are optional peers, never bundled.
  external: ['react', 'vue', 'svelte', 'svelte/store'],
  treeshake: true,
});
