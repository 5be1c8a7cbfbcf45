// @ts-check
// Owns the chat's dialogs: browsing, joining and creating channels, starting a direct
// message, and Ctrl+K's channel switcher. Each opens a modal, acts through the model,
// then navigates.

import { h, clear, field, openDialog, uid } from '../dom.js';
import { channelPath, slugify } from './shared.js';

/** @typedef {import('../types.js').User} User */
/** @typedef {import('../types.js').Navigate} Navigate */
/** @typedef {import('../model.js').Model} Model */

/**
 * "Browse channels" (the team's open channels to open or join, and the creation form),
 * or "Create a channel" alone.
 * @param {object} options
 * @param {Model} options.model
 * @param {Navigate} options.navigate
 * @param {'browse' | 'create'} [options.tab]
 * @param {boolean} [options.private] the creation form starts as private
 */
export async function channelDialog({ model, navigate, tab = 'browse', private: isPrivate = false }) {
    const teamId = model.teamId;
    await openDialog(tab === 'browse' ? 'Browse channels' : 'Create a channel', (close) => {
        const body = h('div');
        const browseList = h('ul', { class: 'pick-list' }, h('li', null, 'Loading…'));
        const browse = h('section', null, h('h3', null, 'Open channels'), browseList);
        model.openChannels(teamId).then((channels) => {
            clear(browseList);
            if (!channels || channels.length === 0) {
                browseList.append(h('li', null, 'No open channels yet.'));
            }
            for (const channel of channels || []) {
                const member = model.channels.has(channel.id);
                browseList.append(h('li', null,
                    h('span', { class: 'pick-name' }, `#${channel.display_name}`),
                    channel.purpose ? h('span', { class: 'pick-meta' }, channel.purpose) : null,
                    h('button', {
                        type: 'button',
                        class: 'button small',
                        'aria-label': `${member ? 'Open' : 'Join'} ${channel.display_name}`,
                        onclick: async (/** @type {MouseEvent} */ event) => {
                            const button = /** @type {HTMLButtonElement} */ (event.target);
                            try {
                                if (!member) {
                                    button.disabled = true;
                                    await model.joinChannel(channel.id, teamId);
                                }
                                close();
                                navigate(channelPath(model, channel));
                            } catch (err) {
                                button.disabled = false;
                                browseError.textContent = err.message;
                            }
                        },
                    }, member ? 'Open' : 'Join')));
            }
        }).catch((err) => {
            clear(browseList).append(h('li', { class: 'form-error' }, err.message));
        });
        const browseError = h('p', { class: 'form-error', role: 'alert' });

        const displayName = field('Name', h('input', { type: 'text', required: true, maxlength: '64', autocomplete: 'off' }));
        const urlName = field('URL name', h('input', { type: 'text', required: true, maxlength: '64', pattern: '[a-z0-9][a-z0-9_\\-]*', autocomplete: 'off' }), 'Lower-case letters, digits, - and _.');
        let urlEdited = false;
        displayName.input.addEventListener('input', () => {
            if (!urlEdited) {
                urlName.input.value = slugify(displayName.input.value);
            }
        });
        urlName.input.addEventListener('input', () => { urlEdited = true; });
        const privateBox = h('input', { type: 'checkbox', checked: isPrivate });
        const privateId = uid('private');
        privateBox.id = privateId;
        const createError = h('p', { class: 'form-error', role: 'alert' });
        const form = h('form', {
            class: 'form',
            onsubmit: async (/** @type {SubmitEvent} */ event) => {
                event.preventDefault();
                createError.textContent = '';
                if (!displayName.input.value.trim()) {
                    createError.textContent = 'Enter a name for the channel.';
                    displayName.input.focus();
                    return;
                }
                try {
                    const channel = await model.createChannel(teamId, {
                        display_name: displayName.input.value.trim(),
                        name: urlName.input.value.trim() || slugify(displayName.input.value),
                        type: privateBox.checked ? 'P' : 'O',
                    });
                    close();
                    navigate(channelPath(model, channel));
                } catch (err) {
                    createError.textContent = err.message;
                }
            },
        },
        displayName.wrap,
        urlName.wrap,
        h('div', { class: 'field checkbox' }, privateBox, h('label', { for: privateId }, 'Private (only invited members can see it)')),
        h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary' }, 'Create channel')),
        createError,
        );
        const create = h('section', null, h('h3', null, 'Create a new channel'), form);
        if (tab === 'browse') {
            body.append(browse, browseError, create);
        } else {
            body.append(create);
        }
        return body;
    });
}

/**
 * "Direct message": the team's people, filtered as one types, to message.
 * @param {object} options
 * @param {Model} options.model
 * @param {Navigate} options.navigate
 */
export async function directDialog({ model, navigate }) {
    const teamId = model.teamId;
    await openDialog('Direct message', (close) => {
        const list = h('ul', { class: 'pick-list' }, h('li', null, 'Loading…'));
        const error = h('p', { class: 'form-error', role: 'alert' });
        const filter = field('Find a person', h('input', { type: 'search', autocomplete: 'off' }));
        /** @type {User[]} */
        let users = [];
        const render = () => {
            const q = filter.input.value.trim().toLowerCase();
            clear(list);
            const shown = users.filter((u) => !q || u.username.toLowerCase().includes(q));
            if (shown.length === 0) {
                list.append(h('li', null, 'Nobody found.'));
            }
            for (const user of shown.slice(0, 100)) {
                list.append(h('li', null,
                    h('span', { class: 'pick-name' }, `@${user.username}${user.id === model.me.id ? ' (you)' : ''}`),
                    h('button', {
                        type: 'button',
                        class: 'button small',
                        'aria-label': `Message ${user.username}`,
                        onclick: async () => {
                            try {
                                await model.openDirect(user, teamId);
                                close();
                                navigate(`/${model.team.name}/messages/@${user.username}`);
                            } catch (err) {
                                error.textContent = err.message;
                            }
                        },
                    }, 'Message')));
            }
        };
        filter.input.addEventListener('input', render);
        model.teamUsers(teamId).then((found) => {
            users = found;
            render();
        }).catch((err) => {
            clear(list).append(h('li', { class: 'form-error' }, err.message));
        });
        return h('div', null, filter.wrap, list, error);
    });
}

/**
 * Ctrl+K: type part of a channel's or person's name, arrows to move, Enter to open.
 * @param {object} options
 * @param {Model} options.model
 * @param {Navigate} options.navigate
 */
export function switchChannelDialog({ model, navigate }) {
    return openDialog('Switch channels', (close) => {
        const listId = uid('switch-list');
        /** @type {HTMLInputElement} */
        const input = h('input', {
            type: 'text', class: 'switch-input', autocomplete: 'off', autofocus: true,
            role: 'combobox', 'aria-expanded': 'true', 'aria-controls': listId, 'aria-label': 'Channel or person',
            placeholder: 'Type a channel or a person',
        });
        const list = h('ul', { id: listId, class: 'pick-list switch-list', role: 'listbox', 'aria-label': 'Channels' });
        /** @type {import('../types.js').Channel[]} */
        let shown = [];
        let active = 0;
        const render = () => {
            const term = input.value.trim().toLowerCase().replace(/^[~@#]/, '');
            shown = [...model.channels.values()]
                .filter((c) => !term || model.channelName(c).toLowerCase().includes(term) || c.name.toLowerCase().includes(term))
                .sort((a, b) => (b.last_post_at || 0) - (a.last_post_at || 0))
                .slice(0, 20);
            active = Math.min(active, Math.max(0, shown.length - 1));
            clear(list);
            if (shown.length === 0) {
                list.append(h('li', { class: 'pick-meta' }, 'No channel or person of yours matches. Browse channels to join others.'));
            }
            shown.forEach((channel, index) => {
                list.append(h('li', {
                    id: `${listId}-${index}`,
                    role: 'option',
                    class: index === active ? 'active' : '',
                    'aria-selected': index === active ? 'true' : 'false',
                    onmousedown: (/** @type {MouseEvent} */ event) => {
                        event.preventDefault();
                        open(channel);
                    },
                }, h('span', { class: 'pick-name' }, `${channel.type === 'D' ? '@' : channel.type === 'P' ? '🔒 ' : '#'}${model.channelName(channel)}`)));
            });
            input.setAttribute('aria-activedescendant', shown.length ? `${listId}-${active}` : '');
        };
        /** @param {import('../types.js').Channel} channel */
        const open = (channel) => {
            close();
            navigate(channelPath(model, channel));
        };
        input.addEventListener('input', () => { active = 0; render(); });
        input.addEventListener('keydown', (event) => {
            if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
                event.preventDefault();
                if (shown.length) {
                    active = (active + (event.key === 'ArrowDown' ? 1 : shown.length - 1)) % shown.length;
                    render();
                }
            } else if (event.key === 'Enter') {
                event.preventDefault();
                if (shown[active]) {
                    open(shown[active]);
                }
            }
        });
        render();
        return h('div', null, input, list);
    }, { className: 'switch-dialog' });
}
