/** The flow page's own buttons around the editor: ``data-copy`` copies its text (a webhook URL) and says so for two seconds. */
async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Without the clipboard API (a page not served over HTTPS): a selected textarea and the copy command.
    const area = Object.assign(document.createElement("textarea"), { value: text });
    document.body.append(area);
    area.select();
    const copied = document.execCommand("copy");
    area.remove();
    return copied;
  }
}

export function wirePage(root: ParentNode = document): void {
  root.querySelectorAll<HTMLElement>("[data-copy]").forEach((button) =>
    button.addEventListener("click", async () => {
      const label = button.textContent;
      button.textContent = (await copyText(button.dataset.copy ?? "")) ? "Copied" : "Copy failed: select the URL";
      window.setTimeout(() => (button.textContent = label), 2000);
    }),
  );
}
