/**
 * The tools a worker runs and the gateway resolves: {@link createToolRegistry} builds the registry
 * (the TypeScript tools and the configured ones of the tools folder), {@link runTool} is the one path
 * a tool call takes, and {@link defineTool} is how a TypeScript tool is written.
 *
 * @module
 */
export { closeTools, createToolRegistry, type ToolSettings } from './create-registry';
export { ToolRegistry } from './registry';
export { runTool } from './run';
export { defineTool, type ToolContext, type ToolDefinition } from './tool';
