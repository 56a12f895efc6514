/**
 * The activities a worker registers (all of the platform's I/O): built by {@link createActivities}
 * from their dependencies; workflows import {@link Activities} as a type, through proxyActivities.
 *
 * @module
 */
export { createActivities, type Activities, type ActivityDeps } from './create-activities';
export { MAX_INLINE_OUTPUT_BYTES } from './tool-activity';
