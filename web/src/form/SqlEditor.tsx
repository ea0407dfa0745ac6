// The SQL box of PostgreSQL and MySQL: CodeMirror 6 with the dialect's highlighting, and completion of the table and
// column names the server has (read once through the protocol's own query operation, with the form's credentials).
import { autocompletion } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { MySQL, PostgreSQL, sql } from '@codemirror/lang-sql';
import { defaultHighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { Compartment, EditorState } from '@codemirror/state';
import { EditorView, keymap, lineNumbers, placeholder } from '@codemirror/view';
import { useEffect, useRef, useState } from 'react';
import { runOperation } from '../lib/api.ts';

type Dialect = 'postgres' | 'mysql';

/** Tables and their columns of the schemas a user works in (system schemas left out). */
const COLUMNS_SQL =
  "SELECT table_schema, table_name, column_name FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', 'information_schema', 'mysql', 'performance_schema', 'sys') ORDER BY 1, 2, ordinal_position";

async function loadSchema(dialect: Dialect, connection: Record<string, unknown>): Promise<Record<string, string[]>> {
  const a = await runOperation(dialect, 'query', { ...connection, sql: COLUMNS_SQL, maxRows: 20_000 });
  if (!a.ok) return {};
  const rows = ((a.result as { results?: { rows: unknown[][] }[] }).results?.[0]?.rows ?? []) as string[][];
  const out: Record<string, string[]> = {};
  for (const [schema, table, column] of rows) {
    // Both "table" and "schema.table" complete; public (PostgreSQL) and the current database need no prefix.
    for (const name of [table, `${schema}.${table}`]) (out[name] ??= []).push(column);
  }
  return out;
}

export default function SqlEditor({
  id,
  value,
  onChange,
  onRun,
  dialect,
  connection,
  invalid,
}: {
  id: string;
  value: string;
  onChange: (v: string) => void;
  /** Ctrl+Enter: runs the selected text when there is a selection, else everything (`undefined`). */
  onRun?: (selection: string | undefined) => void;
  dialect: Dialect;
  connection: Record<string, unknown>;
  invalid?: boolean;
}) {
  const box = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const language = useRef(new Compartment());
  const onChangeRef = useRef(onChange);
  onChangeRef.current = onChange;
  const onRunRef = useRef(onRun);
  onRunRef.current = onRun;
  const [tables, setTables] = useState<number | null>(null);
  const loaded = useRef('');

  useEffect(() => {
    const v = new EditorView({
      parent: box.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          lineNumbers(),
          history(),
          keymap.of([
            {
              key: 'Mod-Enter',
              run: (v) => {
                if (!onRunRef.current) return false;
                const selected = v.state.selection.ranges
                  .filter((r) => !r.empty)
                  .map((r) => v.state.sliceDoc(r.from, r.to))
                  .join('\n');
                onRunRef.current(selected.trim() ? selected : undefined);
                return true;
              },
            },
            ...defaultKeymap,
            ...historyKeymap,
          ]),
          syntaxHighlighting(defaultHighlightStyle),
          language.current.of(sql({ dialect: dialect === 'postgres' ? PostgreSQL : MySQL, upperCaseKeywords: true })),
          autocompletion(),
          placeholder('SELECT …   (Ctrl+Enter runs it, or the selection)'),
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({ id, 'aria-label': 'SQL', 'aria-invalid': invalid ? 'true' : 'false' }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) onChangeRef.current(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
    // The editor is made once; outside changes of the value are applied below.
  }, []);

  // A value set from outside (a saved target, history, a file) replaces the text.
  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
  }, [value]);

  /** Once the target is filled in and the editor is used: the server's tables and columns for completion. */
  const fetchSchema = async () => {
    const key = JSON.stringify(connection);
    if (!connection.host || !connection.user || loaded.current === key) return;
    loaded.current = key;
    const schema = await loadSchema(dialect, connection);
    setTables(Object.keys(schema).filter((k) => !k.includes('.')).length);
    view.current?.dispatch({ effects: language.current.reconfigure(sql({ dialect: dialect === 'postgres' ? PostgreSQL : MySQL, upperCaseKeywords: true, schema })) });
  };

  return (
    <div style={{ width: '100%' }}>
      <div ref={box} className="sql-editor" onFocus={() => void fetchSchema()} />
      {tables !== null && (
        <div className="small muted" data-testid="sql-completion">
          Completes {tables} table{tables === 1 ? '' : 's'} and their columns (Ctrl+Space)
        </div>
      )}
    </div>
  );
}
