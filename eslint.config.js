import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: ['**/dist/**', '**/node_modules/**', 'packages/protocol/src/pb/*.ts']
  }),
  {
    rules: {
      // fire-and-forget promises are marked with `void` (js-libp2p's convention)
      'no-void': ['error', { allowAsStatement: true }]
    }
  }
]
