// The server's highlights are HTML: matched words in `<em>`, everything else escaped. They are
// turned into text segments here and rendered as React text, so no server string is ever
// inserted as HTML.

export interface Segment {
  text: string;
  hit: boolean;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'", "#x27": "'", apos: "'" };

function unescape(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|#39|#x27|apos);/g, (_, e: string) => ENTITIES[e] ?? _);
}

export function segments(html: string): Segment[] {
  const out: Segment[] = [];
  const re = /<em>([\s\S]*?)<\/em>/g;
  let last = 0;
  for (let m = re.exec(html); m; m = re.exec(html)) {
    if (m.index > last) out.push({ text: unescape(html.slice(last, m.index)), hit: false });
    out.push({ text: unescape(m[1]), hit: true });
    last = m.index + m[0].length;
  }
  if (last < html.length) out.push({ text: unescape(html.slice(last)), hit: false });
  return out.filter((s) => s.text.length > 0);
}
