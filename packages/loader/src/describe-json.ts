/** A config value as an error message quotes it: its JSON, cut to 80 characters; `nothing` when absent. */
export function describeJson(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
