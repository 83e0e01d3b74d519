import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Integration files each start a server; keep the machine (2 cores) calm.
    fileParallelism: !process.env.AUTHFORT_SERIAL,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
