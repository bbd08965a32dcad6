// Text put into an SVG (labels drawn on photos with sharp): characters XML gives meaning to
// are written as references, so a name like "Tom & Jerry <3" shows as written.

/** `s` safe inside an SVG element's text or an attribute's quotes. */
export const escapeXml = (s: string): string => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
