// The widget's look, inside its shadow root. `--hub-accent` on the host page
// (e.g. `[data-hub-widget] { --hub-accent: #0a7 }`) recolours it.
export const css = `
:host { all: initial; --accent: var(--hub-accent, #2f5bea); font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1c2333; }
.bubble { position: fixed; right: 20px; bottom: 20px; width: 56px; height: 56px; border-radius: 50%; border: 0; background: var(--accent); color: #fff; cursor: pointer; box-shadow: 0 6px 20px rgba(0,0,0,.2); z-index: 2147483000; }
.bubble svg { width: 26px; height: 26px; fill: currentColor; }
.badge { position: absolute; top: -2px; right: -2px; background: #d92d3b; color: #fff; border-radius: 10px; font-size: 12px; font-weight: 700; padding: 0 6px; }
.panel { position: fixed; right: 20px; bottom: 88px; width: min(360px, calc(100vw - 40px)); height: min(520px, calc(100vh - 120px)); background: #fff; border-radius: 14px; box-shadow: 0 12px 40px rgba(0,0,0,.22); display: flex; flex-direction: column; overflow: hidden; z-index: 2147483000; }
.panel[hidden] { display: none; }
header { display: flex; justify-content: space-between; align-items: center; padding: 12px 16px; background: var(--accent); color: #fff; }
.close { background: none; border: 0; color: #fff; font-size: 22px; cursor: pointer; line-height: 1; }
.messages { flex: 1; overflow-y: auto; list-style: none; margin: 0; padding: 12px; display: flex; flex-direction: column; gap: 6px; background: #f6f7fb; }
.note { color: #6b7487; font-size: 13px; text-align: center; margin-bottom: 6px; }
.msg { max-width: 80%; padding: 7px 11px; border-radius: 12px; display: flex; flex-direction: column; white-space: pre-wrap; overflow-wrap: anywhere; }
.msg.team { align-self: flex-start; background: #fff; border: 1px solid #e3e7ef; }
.msg.visitor { align-self: flex-end; background: var(--accent); color: #fff; }
.msg.pending { opacity: .6; }
.msg.failed { background: #fdecee; color: #c62f3b; }
.who { font-size: 11px; font-weight: 700; color: #6b7487; }
.retry { margin-top: 4px; background: none; border: 0; color: inherit; text-decoration: underline; cursor: pointer; padding: 0; font: inherit; font-size: 12px; }
.error { margin: 0; padding: 6px 12px; background: #fdecee; color: #c62f3b; font-size: 13px; }
.error[hidden] { display: none; }
form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #e3e7ef; }
textarea { flex: 1; resize: none; border: 1px solid #e3e7ef; border-radius: 8px; padding: 7px 9px; font: inherit; }
.send { background: var(--accent); color: #fff; border: 0; border-radius: 8px; padding: 0 14px; font: inherit; font-weight: 600; cursor: pointer; }
`;
