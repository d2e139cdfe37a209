/** The editor's keyboard shortcuts, as the help popover lists them; ``hooks/useShortcuts.ts`` acts on them. */
export const SHORTCUTS: [keys: string, what: string][] = [
  ["Ctrl+S", "Save the draft (also while typing in a field)"],
  ["Ctrl+Z", "Undo"],
  ["Ctrl+Shift+Z or Ctrl+Y", "Redo"],
  ["Ctrl+C / Ctrl+V", "Copy and paste the selected steps with their settings"],
  ["Ctrl+D", "Duplicate the selected steps"],
  ["Delete or Backspace", "Remove the selected steps and connections"],
  ["Escape", "Close the step panel or this help"],
  ["F", "Full screen on or off"],
  ["?", "Show or hide this help"],
  ["Click a step", "Its data: the last run in this editor, or its pinned sample"],
  ["Double-click a step", "Edit its settings"],
];
