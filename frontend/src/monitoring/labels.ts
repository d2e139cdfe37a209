/** Category labels of the charts: long names (a step of a flow of a connector...) are cut to fit, with an
 * ellipsis; the tooltip shows them whole, so nothing is lost and no label is clipped at the canvas edge. */

export const MAX_LABEL_CHARACTERS = 28;

export function ellipsize(text: string, max: number = MAX_LABEL_CHARACTERS): string {
  const characters = Array.from(text); // code points: an emoji or accented name is never cut in half
  return characters.length <= max ? text : `${characters.slice(0, max - 1).join("").trimEnd()}…`;
}
