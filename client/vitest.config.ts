import { defineConfig } from 'vitest/config'

// Unit tests run without the uni plugin: the code under test takes its platform as input.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    environment: 'node',
    // Generous: a busy machine slows the first dynamic import of a module graph a lot.
    testTimeout: 30_000,
  },
})
