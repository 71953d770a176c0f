// Samples per figure row and side, printed as one markdown table: each side's median (min–max)
// and their ratio supervisord ÷ meshvisor for the median, the min and the max.
import { stats, type Summary } from '../stats.ts';
import type { SideName } from './side.ts';

export type Unit = 'ms' | 'MiB' | 'lines/s' | 'count';

export interface Row {
  label: string;
  unit: Unit;
}

/** A timed-out wait is recorded as Infinity and printed as "timeout". */
export const TIMED_OUT = Infinity;

interface Cell {
  values: number[];
  /** Outcomes that are not numbers ("gave up (FATAL)"), with how often they happened. */
  notes: Map<string, number>;
}

export class Results<K extends string> {
  private readonly cells = new Map<string, Cell>();

  constructor(private readonly rows: Record<K, Row>) {}

  private cell(key: K, side: SideName): Cell {
    const id = `${key}/${side}`;
    let cell = this.cells.get(id);
    if (!cell) {
      cell = { values: [], notes: new Map() };
      this.cells.set(id, cell);
    }
    return cell;
  }

  add(key: K, side: SideName, value: number): void {
    this.cell(key, side).values.push(value);
  }

  note(key: K, side: SideName, text: string): void {
    const notes = this.cell(key, side).notes;
    notes.set(text, (notes.get(text) ?? 0) + 1);
  }

  /** The table, rows in declaration order, rows without any sample left out. */
  markdown(): string[] {
    const lines = [
      '| figure | unit | supervisord median (min–max) | meshvisor median (min–max) | ratio sv÷mv median (min–max) | n sv/mv |',
      '| --- | --- | --: | --: | --: | :-: |',
    ];
    for (const key of Object.keys(this.rows) as K[]) {
      const { label, unit } = this.rows[key];
      const sv = this.cell(key, 'supervisord');
      const mv = this.cell(key, 'meshvisor');
      if (!sv.values.length && !mv.values.length && !sv.notes.size && !mv.notes.size) continue;
      const n = `${sv.values.length}/${mv.values.length}`;
      lines.push(
        `| ${label} | ${unit} | ${side(sv, unit)} | ${side(mv, unit)} | ${ratio(sv, mv)} | ${n} |`,
      );
    }
    return lines;
  }
}

function number(value: number, unit: Unit): string {
  if (value === TIMED_OUT) return 'timeout';
  if (Number.isNaN(value)) return '–';
  if (unit === 'MiB') return value.toFixed(1);
  return Math.round(value).toLocaleString('en-US');
}

function summary(s: Summary, unit: Unit): string {
  return s.min === s.max
    ? number(s.median, unit)
    : `${number(s.median, unit)} (${number(s.min, unit)}–${number(s.max, unit)})`;
}

function side(cell: Cell, unit: Unit): string {
  const parts = cell.values.length ? [summary(stats(cell.values), unit)] : [];
  for (const [text, count] of cell.notes) parts.push(`${text} ×${count}`);
  return parts.join('; ') || '–';
}

function quotient(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '–';
  const q = a / b;
  return q >= 10 ? q.toFixed(0) : q.toFixed(2);
}

function ratio(sv: Cell, mv: Cell): string {
  if (!sv.values.length || !mv.values.length) return '–';
  const a = stats(sv.values);
  const b = stats(mv.values);
  const [median, min, max] = [
    quotient(a.median, b.median),
    quotient(a.min, b.min),
    quotient(a.max, b.max),
  ];
  const same = median === min && min === max;
  return same || (min === '–' && max === '–') ? median : `${median} (${min}–${max})`;
}
