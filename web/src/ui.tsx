/** The console's small parts: state badges, messages, copy buttons, confirmation dialogs, fields. */
import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import type { ConnectorStatus, Connectors, Phase } from '../../src/client/index.js';
import { ago, CONNECTOR_WORDS, PHASE_WORDS } from './format.js';

export function PhaseBadge({ phase }: { phase: Phase }) {
  return <span class={`badge phase-${phase}`}>{PHASE_WORDS[phase]}</span>;
}

export function ConnectorBadge({ connectors }: { connectors: Connectors | null | undefined }) {
  if (!connectors)
    return (
      <span class="badge conn-unknown" title="The control plane has not checked yet">
        Not checked yet
      </span>
    );
  const status: ConnectorStatus = connectors.status;
  const n = connectors.connections.length;
  const label =
    status === 'healthy' || status === 'degraded'
      ? `${CONNECTOR_WORDS[status]} (${n})`
      : CONNECTOR_WORDS[status];
  return (
    <span class={`badge conn-${status}`} title={`Checked ${ago(connectors.checkedAt)}`}>
      {label}
    </span>
  );
}

/** An error in words; `role=alert` so screen readers hear it at once. */
export function ErrorNote({ message, onDismiss }: { message: string | null; onDismiss?: () => void }) {
  if (!message) return null;
  return (
    <div class="note error" role="alert">
      <span>{message}</span>
      {onDismiss && (
        <button type="button" class="link" onClick={onDismiss}>
          Dismiss
        </button>
      )}
    </div>
  );
}

export function Notice({
  children,
  kind = 'info',
}: {
  children: ComponentChildren;
  kind?: 'info' | 'ok' | 'warn';
}) {
  return (
    <div class={`note ${kind}`} role="status">
      {children}
    </div>
  );
}

/** Copies `text` (or what `get` fetches) to the clipboard and says so; a failure says what to do. */
export function CopyButton({
  text,
  get,
  label = 'Copy',
}: {
  text?: string;
  get?: () => Promise<string>;
  label?: string;
}) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = async () => {
    try {
      const value = text ?? (await get!());
      await navigator.clipboard.writeText(value);
      setState('copied');
      window.setTimeout(() => setState('idle'), 2500);
    } catch {
      setState('failed');
    }
  };
  return (
    <span class="copy">
      <button
        type="button"
        class="secondary small"
        onClick={() => void copy()}
        data-copied={state === 'copied' ? 'yes' : undefined}
      >
        {state === 'copied' ? 'Copied' : label}
      </button>
      <span class="sr-live" aria-live="polite">
        {state === 'copied'
          ? 'Copied to the clipboard'
          : state === 'failed'
            ? 'Could not copy: select the text and copy it yourself'
            : ''}
      </span>
    </span>
  );
}

/** A command to type, with its copy button. */
export function Command({ text, label }: { text: string; label: string }) {
  return (
    <div class="command">
      <pre aria-label={label}>
        <code>{text}</code>
      </pre>
      <CopyButton text={text} label="Copy" />
    </div>
  );
}

/**
 * A button that asks first, in a modal <dialog> (focus stays inside; Escape cancels). `onConfirm`
 * may fail: its error shows in the dialog.
 */
export function ConfirmButton(props: {
  label: string;
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  onConfirm: () => Promise<void>;
  explain: (err: unknown) => string;
  class?: string;
  accessibleLabel?: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const id = useId();
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await props.onConfirm();
      ref.current?.close();
    } catch (err) {
      setError(props.explain(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button
        type="button"
        class={props.class ?? 'danger small'}
        aria-label={props.accessibleLabel}
        onClick={() => {
          setError(null);
          ref.current?.showModal();
        }}
      >
        {props.label}
      </button>
      <dialog ref={ref} aria-labelledby={`${id}-t`}>
        <h2 id={`${id}-t`}>{props.title}</h2>
        <div>{props.children}</div>
        <ErrorNote message={error} />
        <div class="actions">
          <button type="button" class="secondary" onClick={() => ref.current?.close()}>
            Cancel
          </button>
          <button type="button" class="danger" disabled={busy} onClick={() => void confirm()}>
            {busy ? 'Working…' : props.confirmLabel}
          </button>
        </div>
      </dialog>
    </>
  );
}

/** A labelled input (or select/textarea as children) with an optional hint. */
export function Field(props: {
  label: string;
  hint?: string;
  children: (id: string, hintId?: string) => ComponentChildren;
}) {
  const id = useId();
  const hintId = props.hint ? `${id}-hint` : undefined;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {props.children(id, hintId)}
      {props.hint && (
        <small id={hintId} class="hint">
          {props.hint}
        </small>
      )}
    </div>
  );
}

/** What a field's own control takes besides its value (the field gives the id and the hint). */
type ControlProps<A> = Omit<A, 'id' | 'value' | 'onInput' | 'onChange' | 'aria-describedby' | 'children'>;

/** A labelled one-line input; `onValue` hears every keystroke. */
export function TextField({
  label,
  hint,
  value,
  onValue,
  ...rest
}: {
  label: string;
  hint?: string;
  value: string;
  onValue(value: string): void;
} & ControlProps<JSX.InputHTMLAttributes<HTMLInputElement>>) {
  return (
    <Field label={label} hint={hint}>
      {(id, hintId) => (
        <input
          {...rest}
          id={id}
          aria-describedby={hintId}
          value={value}
          onInput={(e) => onValue(e.currentTarget.value)}
        />
      )}
    </Field>
  );
}

/** A labelled text area (lists: one entry per line). */
export function TextAreaField({
  label,
  hint,
  value,
  onValue,
  rows = 3,
  ...rest
}: {
  label: string;
  hint?: string;
  value: string;
  onValue(value: string): void;
} & ControlProps<JSX.TextareaHTMLAttributes<HTMLTextAreaElement>>) {
  return (
    <Field label={label} hint={hint}>
      {(id, hintId) => (
        <textarea
          {...rest}
          id={id}
          aria-describedby={hintId}
          rows={rows}
          value={value}
          onInput={(e) => onValue(e.currentTarget.value)}
        />
      )}
    </Field>
  );
}

/** A labelled select of `options` (value, words). */
export function SelectField<T extends string>(props: {
  label: string;
  hint?: string;
  value: T;
  onValue(value: T): void;
  options: ReadonlyArray<readonly [T, string]>;
}) {
  return (
    <Field label={props.label} hint={props.hint}>
      {(id, hintId) => (
        <select
          id={id}
          aria-describedby={hintId}
          value={props.value}
          onChange={(e) => props.onValue(e.currentTarget.value as T)}
        >
          {props.options.map(([value, words]) => (
            <option key={value} value={value}>
              {words}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** A labelled checkbox with an optional hint. */
export function CheckField(props: {
  label: string;
  hint?: string;
  checked: boolean;
  onValue(v: boolean): void;
}) {
  const id = useId();
  return (
    <div class="field check">
      <label class="choice">
        <input
          type="checkbox"
          checked={props.checked}
          aria-describedby={props.hint ? id : undefined}
          onChange={(e) => props.onValue(e.currentTarget.checked)}
        />{' '}
        {props.label}
      </label>
      {props.hint && (
        <small id={id} class="hint">
          {props.hint}
        </small>
      )}
    </div>
  );
}

/** A fieldset of radio buttons: one of `options` (value, words, an optional hint after the words). */
export function Choices<T extends string>(props: {
  legend: string;
  value: T;
  onValue(value: T): void;
  options: ReadonlyArray<{ value: T; label: string; hint?: string }>;
  children?: ComponentChildren;
}) {
  const name = useId();
  return (
    <fieldset>
      <legend>{props.legend}</legend>
      {props.options.map((o) => (
        <label class="choice" key={o.value}>
          <input
            type="radio"
            name={name}
            value={o.value}
            checked={props.value === o.value}
            onChange={() => props.onValue(o.value)}
          />{' '}
          {o.label}
          {o.hint && <span class="hint"> ({o.hint})</span>}
        </label>
      ))}
      {props.children}
    </fieldset>
  );
}

/** A table's column headings; `actions`: a last column of buttons, named for screen readers only. */
export function ListHead({ columns, actions = false }: { columns: string[]; actions?: boolean }) {
  return (
    <thead>
      <tr>
        {columns.map((c) => (
          <th scope="col" key={c}>
            {c}
          </th>
        ))}
        {actions && (
          <th scope="col">
            <span class="sr-only">Actions</span>
          </th>
        )}
      </tr>
    </thead>
  );
}

/** A form's submit button in a field's place; its words say when it is working. */
export function SubmitField(props: { label: string; busyLabel: string; busy: boolean; disabled?: boolean }) {
  return (
    <div class="field submit">
      <button type="submit" disabled={props.busy || props.disabled}>
        {props.busy ? props.busyLabel : props.label}
      </button>
    </div>
  );
}

/** Sets the document title and moves focus to the page heading when the page changes (keyboard and screen readers). */
export function PageTitle({ children, title }: { children: ComponentChildren; title: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · Tunnelplane`;
    ref.current?.focus({ preventScroll: true });
  }, [title]);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}
