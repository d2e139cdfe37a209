/** The ``?`` popover: every keyboard shortcut the editor has, from ``shortcuts.ts``. */
import { Icon } from "./icons";
import { SHORTCUTS } from "./shortcuts";

export function HelpPopover({ onClose }: { onClose: () => void }) {
  return (
    <section className="popover help-popover" role="dialog" aria-label="Keyboard shortcuts">
      <header className="popover-head">
        <strong>Keyboard shortcuts</strong>
        <button type="button" className="icon-button" aria-label="Close the shortcuts" onClick={onClose}>
          <Icon name="close" />
        </button>
      </header>
      <dl className="shortcuts">
        {SHORTCUTS.map(([keys, what]) => (
          <div key={keys}>
            <dt>
              <kbd>{keys}</kbd>
            </dt>
            <dd>{what}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
