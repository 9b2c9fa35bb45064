// The command line of the CI stand-in peer worker (peer-standin.mjs, run from the repository root as
// the peer backend runs its worker), for the tests that drive the peer backend.
export const STANDIN = [process.execPath, 'test/support/peer-standin.mjs'];
