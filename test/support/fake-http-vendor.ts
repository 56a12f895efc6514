// The shared core of the fake vendors lives with the drills (scripts/drills/fake-http-vendor.ts), which
// start it outside jest too; the tests import it from here.
export * from '../../scripts/drills/fake-http-vendor';
