/**
 * The environment as the bench was started, before src/native.ts fills in scoreflow's thread defaults
 * (it sets them in process.env when the addon loads). Import this first: the reference's process gets this
 * copy plus its own best setting, not scoreflow's defaults.
 */
export const launchEnv: Readonly<NodeJS.ProcessEnv> = Object.freeze({ ...process.env });
