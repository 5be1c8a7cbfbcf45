// @ts-check
// Owns a message box (the channel's, or the thread panel's reply box): sending posts,
// files attached to them (a button, drag and drop, or paste; uploaded at once with
// their progress shown), suggestions of slash commands, people (@) and channels (~),
// the plugins' slash-command hooks, and the "typing" notice sent over the websocket.

import { h, clear, uid } from '../dom.js';

/** @typedef {import('../types.js').Channel} Channel */
/** @typedef {import('../types.js').Command} Command */
/** @typedef {import('../types.js').SocketSender} SocketSender */
/** @typedef {import('../model.js').Model} Model */
/** @typedef {import('../plugins.js').PluginHost} PluginHost */
/**
 * @typedef {object} Suggestion
 * @property {string} key what keeps the pick when the list is shown again
 * @property {string} main @property {string} hint @property {string} desc what it shows
 * @property {boolean} exact typed out in full already (Enter sends rather than picks)
 * @property {() => void} apply puts it in the text
 */

/**
 * A message box: Enter sends, Shift+Enter adds a line. A leading "/" offers the
 * team's slash commands, a word starting with "@" people and "~" channels (arrow
 * keys move, Enter or Tab picks, Escape closes); a
 * command goes through the plugins' slash-command hooks, then to
 * POST /commands/execute; its error answer appears as a note in the channel.
 * @param {object} options
 * @param {Model} options.model
 * @param {PluginHost} options.host
 * @param {SocketSender} options.socket
 * @param {string} options.label the box's accessible name ("Message", "Reply to thread")
 * @param {() => string} options.rootId the thread it replies in ('' in the channel)
 */
export function createComposer({ model, host, socket, label, rootId }) {
    const inputId = uid('composer');
    const listId = uid('suggestions');
    const errorId = uid('composer-error');
    const textarea = h('textarea', {
        id: inputId,
        class: 'composer-input',
        rows: '1',
        role: 'combobox',
        'aria-autocomplete': 'list',
        'aria-expanded': 'false',
        'aria-controls': listId,
        'aria-describedby': errorId,
        enterkeyhint: 'send',
    });
    const labelEl = h('label', { for: inputId, class: 'sr-only' }, label);
    const suggestions = h('ul', { id: listId, class: 'suggestions', role: 'listbox', 'aria-label': 'Suggestions', hidden: true });
    const error = h('p', { id: errorId, class: 'form-error composer-error', role: 'alert' });
    const sendButton = h('button', { type: 'submit', class: 'button primary send' }, 'Send');
    /** @type {HTMLInputElement} */
    const fileInput = h('input', { type: 'file', multiple: true, hidden: true, 'aria-hidden': 'true', tabindex: '-1' });
    const attachButton = h('button', {
        type: 'button',
        class: 'button small attach',
        'aria-label': 'Attach files',
        title: 'Attach files (or drop or paste them here)',
        onclick: () => fileInput.click(),
    }, 'Attach');
    const fileList = h('ul', { class: 'composer-files', 'aria-label': 'Files to send' });
    const form = h('form', { class: 'composer' },
        labelEl,
        fileList,
        h('div', { class: 'composer-box' }, suggestions, attachButton, fileInput, textarea, sendButton),
        error,
    );
    /**
     * Files chosen for the next post, uploading or uploaded.
     * @type {{file: File, id: string, done: boolean, failed: string, element: HTMLElement, progress: HTMLProgressElement}[]}
     */
    let pending = [];
    /**
     * The suggestions shown: a slash command, a person (@) or a channel (~), each
     * with the text that picking it puts in place of what was typed.
     * @type {Suggestion[]}
     */
    let items = [];
    let active = -1;
    let sending = false;
    let lastTyping = 0;
    /** @type {Channel | null} */
    let channel = null;

    /** Uploads files into the open channel for the next post, showing their progress. @param {File[]} files */
    function attach(files) {
        if (!channel) {
            return;
        }
        const channelId = channel.id;
        for (const file of files) {
            /** @type {HTMLProgressElement} */
            const progress = h('progress', { max: '1', value: '0', 'aria-label': `Uploading ${file.name}` });
            const item = {
                file,
                id: '',
                done: false,
                failed: '',
                progress,
                element: h('li', { class: 'composer-file' }),
            };
            const remove = h('button', {
                type: 'button',
                class: 'icon-button',
                'aria-label': `Remove ${file.name}`,
                onclick: () => {
                    pending = pending.filter((p) => p !== item);
                    item.element.remove();
                    textarea.focus();
                },
            }, '×');
            item.element.append(h('span', { class: 'file-name' }, file.name), progress, remove);
            pending.push(item);
            fileList.append(item.element);
            model.uploadFile(channelId, file, (fraction) => { progress.value = fraction; })
                .then((info) => {
                    item.id = info.id;
                    item.done = true;
                    progress.value = 1;
                    item.element.classList.add('uploaded');
                })
                .catch((err) => {
                    item.failed = err.message;
                    item.element.classList.add('failed');
                    progress.replaceWith(h('span', { class: 'form-error' }, err.message));
                });
        }
    }

    function clearFiles() {
        pending = [];
        clear(fileList);
    }

    /** @param {Channel | null} next */
    function setChannel(next) {
        if (next?.id !== channel?.id) {
            clearFiles();
        }
        channel = next;
        const name = next ? model.channelName(next) : '';
        const placeholder = rootId() ? 'Reply…' : next ? `Write to ${next.type === 'D' ? '@' : next.type === 'O' ? '#' : ''}${name}` : '';
        textarea.placeholder = placeholder;
        labelEl.textContent = rootId() ? label : next ? `${label} ${name}` : label;
        error.textContent = '';
    }

    /** @param {boolean} enabled */
    function setEnabled(enabled) {
        textarea.disabled = !enabled;
        sendButton.disabled = !enabled;
        attachButton.disabled = !enabled;
    }

    function autosize() {
        textarea.style.height = 'auto';
        textarea.style.height = `${Math.min(textarea.scrollHeight, 200)}px`;
    }

    /** The word being typed at the caret when it starts with @ or ~, with where it starts. */
    function tokenAtCaret() {
        const caret = textarea.selectionStart ?? textarea.value.length;
        const before = textarea.value.slice(0, caret);
        const match = /(^|\s)([@~])([\p{L}\p{N}._-]*)$/u.exec(before);
        if (!match) {
            return null;
        }
        return { sigil: match[2], prefix: match[3], start: caret - match[3].length - 1, end: caret };
    }

    /**
     * A suggestion that replaces [start, end) of the text with `text`.
     * @param {number} start @param {number} end @param {string} text
     */
    function replacer(start, end, text) {
        return () => {
            const value = textarea.value;
            textarea.value = `${value.slice(0, start)}${text}${value.slice(end)}`;
            const caret = start + text.length;
            textarea.setSelectionRange(caret, caret);
        };
    }

    async function updateSuggestions() {
        const value = textarea.value;
        const command = /^\/(\S*)$/.exec(value);
        const token = command ? null : tokenAtCaret();
        if ((!command && !token) || !model.teamId) {
            closeSuggestions();
            return;
        }
        /** @type {Suggestion[]} */
        let found = [];
        let kind = 'Slash commands';
        try {
            if (command) {
                const prefix = command[1].toLowerCase();
                found = (await model.commandsFor(model.teamId))
                    .filter((c) => c.trigger.toLowerCase().startsWith(prefix))
                    .sort((a, b) => a.trigger.localeCompare(b.trigger))
                    .map((c) => ({
                        key: c.trigger,
                        main: `/${c.trigger}`,
                        hint: c.auto_complete_hint || '',
                        desc: c.auto_complete_desc || c.description || '',
                        exact: c.trigger === prefix,
                        apply: replacer(0, value.length, `/${c.trigger} `),
                    }));
            } else if (token && token.sigil === '@') {
                kind = 'People';
                found = await mentionSuggestions(token);
            } else if (token) {
                kind = 'Channels';
                const channels = await model.autocompleteChannels(model.teamId, token.prefix);
                found = channels.map((c) => ({
                    key: c.id,
                    main: `~${c.name}`,
                    hint: c.display_name,
                    desc: '',
                    exact: c.name === token.prefix.toLowerCase(),
                    apply: replacer(token.start, token.end, `~${c.name} `),
                }));
            }
        } catch {
            found = [];
        }
        if (textarea.value !== value) {
            return;
        }
        const previous = items;
        items = found;
        if (items.length === 0) {
            closeSuggestions();
            return;
        }
        suggestions.setAttribute('aria-label', kind);
        // A list shown again for the same text keeps the entry picked with the arrows.
        const picked = active >= 0 ? previous[active]?.key : undefined;
        active = Math.max(0, items.findIndex((item) => item.key === picked));
        renderSuggestions();
    }

    /** The words that mention many people at once, as Mattermost offers them. */
    const SPECIAL_MENTIONS = [
        ['here', 'Notifies everyone online in this channel'],
        ['channel', 'Notifies everyone in this channel'],
        ['all', 'Notifies everyone in this channel'],
    ];

    /** People (the channel's first, then the team's others) and @here/@channel/@all. @param {{prefix: string, start: number, end: number}} token */
    async function mentionSuggestions(token) {
        const found = await model.autocompleteUsers(model.teamId, channel && channel.type !== 'D' ? channel.id : '', token.prefix);
        const lower = token.prefix.toLowerCase();
        /** @type {Suggestion[]} */
        const people = [...found.users.map((u) => [u, '']), ...(found.out_of_channel || []).map((u) => [u, 'Not in this channel'])]
            .map(([user, note]) => {
                const u = /** @type {import('../types.js').User} */ (user);
                const names = [`${u.first_name || ''} ${u.last_name || ''}`.trim(), u.nickname ? `(${u.nickname})` : ''].filter(Boolean).join(' ');
                return {
                    key: u.id,
                    main: `@${u.username}`,
                    hint: names,
                    desc: /** @type {string} */ (note),
                    exact: u.username === lower,
                    apply: replacer(token.start, token.end, `@${u.username} `),
                };
            });
        const special = channel && channel.type !== 'D'
            ? SPECIAL_MENTIONS.filter(([word]) => word.startsWith(lower)).map(([word, desc]) => ({
                key: `@${word}`, main: `@${word}`, hint: '', desc, exact: word === lower, apply: replacer(token.start, token.end, `@${word} `),
            }))
            : [];
        return [...people, ...special];
    }

    function renderSuggestions() {
        clear(suggestions);
        items.forEach((item, index) => {
            const optionId = `${listId}-${index}`;
            suggestions.append(h('li', {
                id: optionId,
                role: 'option',
                class: index === active ? 'active' : '',
                'aria-selected': index === active ? 'true' : 'false',
                onmousedown: (/** @type {MouseEvent} */ event) => {
                    event.preventDefault();
                    pick(index);
                },
            },
            h('span', { class: 'trigger' }, item.main),
            item.hint ? h('span', { class: 'hint' }, ` ${item.hint}`) : null,
            item.desc ? h('span', { class: 'desc' }, item.desc) : null,
            ));
        });
        suggestions.hidden = false;
        textarea.setAttribute('aria-expanded', 'true');
        if (active >= 0) {
            textarea.setAttribute('aria-activedescendant', `${listId}-${active}`);
            suggestions.children[active]?.scrollIntoView({ block: 'nearest' });
        }
    }

    function closeSuggestions() {
        items = [];
        active = -1;
        suggestions.hidden = true;
        clear(suggestions);
        textarea.setAttribute('aria-expanded', 'false');
        textarea.removeAttribute('aria-activedescendant');
    }

    /** @param {number} index */
    function pick(index) {
        const item = items[index];
        if (!item) {
            return;
        }
        item.apply();
        closeSuggestions();
        textarea.focus();
        autosize();
    }

    /** Posts being sent: each goes out after the one before, in the order written. @type {Promise<unknown>} */
    let outbox = Promise.resolve();

    async function send() {
        const text = textarea.value;
        const uploaded = pending.filter((p) => p.done);
        if ((!text.trim() && uploaded.length === 0) || !channel) {
            return;
        }
        error.textContent = '';
        if (pending.some((p) => !p.done && !p.failed)) {
            error.textContent = 'Wait for the files to finish uploading.';
            return;
        }
        const targetChannel = channel.id;
        const root = rootId();
        if (text.trim().startsWith('/')) {
            // A command keeps its text until it ran (to fix it on an error): one at a time.
            if (sending) {
                return;
            }
            sending = true;
            sendButton.disabled = true;
            try {
                await runCommand(text.trim(), targetChannel, root);
            } catch (err) {
                error.textContent = err.message;
            } finally {
                sending = false;
                sendButton.disabled = false;
                autosize();
            }
            return;
        }
        // The box empties at once (the post may show, from its event, before the answer),
        // so a second message can follow before the first is answered: it waits its turn
        // and is never dropped. A failure puts the text and the files back.
        const files = pending;
        textarea.value = '';
        clearFiles();
        autosize();
        const sent = outbox.then(() => model.createPost(targetChannel, text, root, uploaded.map((p) => p.id)));
        outbox = sent.catch(() => {});
        try {
            await sent;
        } catch (err) {
            if (!textarea.value) {
                textarea.value = text;
                autosize();
            }
            if (channel && channel.id === targetChannel && pending.length === 0) {
                pending = files;
                fileList.append(...files.map((f) => f.element));
            }
            error.textContent = err.message;
        }
    }

    /**
     * @param {string} command
     * @param {string} targetChannel
     * @param {string} root
     */
    async function runCommand(command, targetChannel, root) {
        const args = { channel_id: targetChannel, team_id: model.teamId, root_id: root };
        const hooked = await host.runSlashCommandHooks(command, args);
        if (hooked.swallowed) {
            textarea.value = '';
            return;
        }
        if (hooked.error) {
            model.addLocalNote(targetChannel, hooked.error.message, { rootId: root, error: true });
            return;
        }
        try {
            await model.executeCommand({
                channel_id: hooked.args.channel_id || targetChannel,
                team_id: hooked.args.team_id || model.teamId,
                root_id: hooked.args.root_id ?? root,
                command: hooked.message,
            });
            textarea.value = '';
        } catch (err) {
            // Shown in the channel, like Mattermost's ephemeral error; the text stays to fix it.
            model.addLocalNote(targetChannel, `${command.split(/\s/)[0]}: ${err.message}`, { rootId: root, error: true });
        }
    }

    textarea.addEventListener('keydown', (event) => {
        if (!suggestions.hidden && items.length > 0) {
            if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
                event.preventDefault();
                active = (active + (event.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
                renderSuggestions();
                return;
            }
            if ((event.key === 'Enter' && !event.shiftKey) || event.key === 'Tab') {
                // Enter on a command, name or channel typed out in full sends; otherwise it picks.
                const exact = items[active] && items[active].exact;
                if (!(event.key === 'Enter' && exact)) {
                    event.preventDefault();
                    pick(active);
                    return;
                }
                closeSuggestions();
            }
            if (event.key === 'Escape') {
                event.preventDefault();
                event.stopPropagation();
                closeSuggestions();
                return;
            }
        }
        if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
            event.preventDefault();
            send();
        }
    });
    textarea.addEventListener('input', () => {
        autosize();
        updateSuggestions();
        const now = Date.now();
        if (channel && now - lastTyping > 3000 && textarea.value && !textarea.value.startsWith('/')) {
            lastTyping = now;
            socket.send('user_typing', { channel_id: channel.id, parent_id: rootId() });
        }
    });
    // Closing waits a moment (a click on a suggestion lands first), and not at all when
    // the box has its focus back by then: a focus stolen for an instant must not drop
    // the list under the next keystroke.
    textarea.addEventListener('blur', () => setTimeout(() => {
        if (document.activeElement !== textarea) {
            closeSuggestions();
        }
    }, 150));
    fileInput.addEventListener('change', () => {
        attach(Array.from(fileInput.files || []));
        fileInput.value = '';
    });
    form.addEventListener('dragover', (event) => {
        if (event.dataTransfer && [...event.dataTransfer.types].includes('Files')) {
            event.preventDefault();
            form.classList.add('dropping');
        }
    });
    form.addEventListener('dragleave', () => form.classList.remove('dropping'));
    form.addEventListener('drop', (event) => {
        form.classList.remove('dropping');
        const files = Array.from(event.dataTransfer?.files || []);
        if (files.length) {
            event.preventDefault();
            attach(files);
        }
    });
    textarea.addEventListener('paste', (event) => {
        const files = Array.from(event.clipboardData?.files || []);
        if (files.length) {
            event.preventDefault();
            attach(files);
        }
    });
    form.addEventListener('submit', (event) => {
        event.preventDefault();
        send();
    });

    return {
        element: form,
        setChannel,
        setEnabled,
        focus: () => textarea.focus(),
        destroy() {},
    };
}
