// Where JSON.parse gave up. Node 20's V8 often says only "Unexpected token '}', ... is not
// valid JSON", with no position; a user fixing a task definition needs the line and column.

/** The offset of the first character that makes `text` invalid JSON (text.length if truncated). */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const fail = (): never => {
    throw i;
  };
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text.charAt(i))) i++;
  };
  const expect = (char: string) => (text.charAt(i) === char ? i++ : fail());
  const string = () => {
    expect('"');
    while (text.charAt(i) !== '"') {
      const char = text.charAt(i);
      if (i >= text.length || char < ' ') fail();
      if (char === '\\') {
        i++;
        if (text.charAt(i) === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) i += 4;
        else if (!'"\\/bfnrt'.includes(text.charAt(i)) || i >= text.length) fail();
      }
      i++;
    }
    i++;
  };
  const value = (): void => {
    space();
    const char = text.charAt(i);
    if (char === '{') return container('}', () => (string(), space(), expect(':'), value()));
    if (char === '[') return container(']', value);
    if (char === '"') return string();
    const literal = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(
      text.slice(i),
    );
    if (!literal) fail();
    i += literal?.[0].length ?? 0;
  };
  const container = (close: string, item: () => void) => {
    i++;
    space();
    if (text.charAt(i) === close) {
      i++;
      return;
    }
    for (;;) {
      space();
      item();
      space();
      if (text.charAt(i) === close) {
        i++;
        return;
      }
      expect(',');
    }
  };
  try {
    value();
    space();
    if (i < text.length) fail();
  } catch (offset) {
    if (typeof offset === 'number') return Math.min(offset, text.length);
    throw offset;
  }
  return text.length;
}
