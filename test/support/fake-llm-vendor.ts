// The fake OpenAI chat-completions vendor lives with the drills (scripts/drills/fake-llm-vendor.ts: the
// vendor-outage drill stops and restarts it); the tests import it from here.
export * from '../../scripts/drills/fake-llm-vendor';
