// @ts-check
// Owns the sidebar (#sidebar): the user's teams, the channel groups (open, private,
// direct messages) with unread marks and mention counts, the status dots of direct-message partners and
// their "+" buttons, redrawn from the model's
// 'channels' and 'teams' events with focus kept in place.

import { h, clear, preserveFocus, uid } from '../dom.js';
import { channelPath, listener } from './shared.js';
import { statusDot, updateStatusDots } from './post-extras.js';

/** @typedef {import('../types.js').Channel} Channel */
/** @typedef {import('../model.js').Model} Model */

/** The count of unread mentions, as a badge (nothing for none). @param {number} count */
function mentionBadge(count) {
    if (!count) {
        return null;
    }
    return h('span', { class: 'mention-badge', 'aria-label': `${count} ${count === 1 ? 'mention' : 'mentions'}` },
        count > 99 ? '99+' : String(count));
}

/**
 * @param {object} options
 * @param {Model} options.model
 * @param {() => void} options.onBrowseChannels the "+" of Channels
 * @param {() => void} options.onCreatePrivate the "+" of Private channels
 * @param {() => void} options.onDirectMessage the "+" of Direct messages
 * @param {() => void} options.onNavigate a link in it was followed
 */
export function createSidebar({ model, onBrowseChannels, onCreatePrivate, onDirectMessage, onNavigate }) {
    /** @type {Array<() => void>} */
    const cleanups = [];
    const listen = listener(cleanups);
    const element = h('nav', { id: 'sidebar', class: 'sidebar', 'aria-label': 'Teams and channels' });

    function render() {
        preserveFocus(element, () => {
            clear(element);
            if (model.teams.length > 1) {
                element.append(h('section', { class: 'sidebar-section teams' },
                    h('h2', null, 'Teams'),
                    h('ul', null, model.teams.map((team) => h('li', null, h('a', {
                        href: `/${team.name}`,
                        class: `team-link${team.id === model.teamId ? ' active' : ''}`,
                        'aria-current': team.id === model.teamId ? 'page' : false,
                        dataset: { link: '', focusKey: `t:${team.id}` },
                    }, h('span', { class: 'name' }, team.display_name),
                    team.id === model.teamId ? null : mentionBadge(model.teamMentionCount(team.id)))))),
                ));
            }
            const groups = [
                { title: 'Channels', type: 'O', add: { label: 'Browse or create channels', onclick: () => onBrowseChannels() } },
                { title: 'Private channels', type: 'P', add: { label: 'Create a private channel', onclick: () => onCreatePrivate() } },
                { title: 'Direct messages', type: 'D', add: { label: 'Start a direct message', onclick: () => onDirectMessage() } },
            ];
            for (const group of groups) {
                const channels = [...model.channels.values()]
                    .filter((c) => c.type === group.type)
                    .sort((a, b) => model.channelName(a).localeCompare(model.channelName(b)));
                if (group.type === 'P' && channels.length === 0) {
                    continue;
                }
                const headingId = uid('sb');
                element.append(h('section', { class: 'sidebar-section', 'aria-labelledby': headingId },
                    h('div', { class: 'section-head' },
                        h('h2', { id: headingId }, group.title),
                        h('button', { type: 'button', class: 'icon-button add', 'aria-label': group.add.label, title: group.add.label, onclick: group.add.onclick, dataset: { focusKey: `add:${group.type}` } }, '+')),
                    h('ul', null, channels.map((channel) => channelItem(channel))),
                ));
            }
            element.append(h('p', { class: 'sidebar-foot' }, h('a', { href: '/select_team', dataset: { link: '' } }, 'Join or create a team')));
        });
    }

    /** @param {Channel} channel */
    function channelItem(channel) {
        const active = channel.id === model.currentChannelId;
        const unread = !active && model.isUnread(channel);
        const mentions = active ? 0 : model.mentionCount(channel);
        const prefix = channel.type === 'O' ? '#' : channel.type === 'P' ? '🔒' : '@';
        return h('li', null, h('a', {
            href: channelPath(model, channel),
            class: `channel-link${active ? ' active' : ''}${unread ? ' unread' : ''}${model.isMuted(channel) ? ' muted' : ''}`,
            'aria-current': active ? 'page' : false,
            dataset: { link: '', focusKey: `c:${channel.id}`, channelId: channel.id, unread: unread ? 'true' : 'false' },
        },
        channel.type === 'D' && model.directPartnerId(channel)
            ? statusDot(model, model.directPartnerId(channel))
            : h('span', { class: 'prefix', 'aria-hidden': 'true' }, prefix),
        h('span', { class: 'name' }, model.channelName(channel)),
        mentions ? mentionBadge(mentions)
            : unread ? h('span', { class: 'unread-badge' }, h('span', { class: 'sr-only' }, ' (unread)')) : null,
        ));
    }

    listen(model, 'channels', () => render());
    listen(model, 'teams', () => render());
    listen(model, 'statuses', () => updateStatusDots(model, element));
    listen(element, 'click', (event) => {
        if (event.target.closest('a[data-link]')) {
            onNavigate();
        }
    });

    return {
        element,
        render,
        /** Focuses the open channel's link (or the first control). */
        focusCurrent() {
            const current = /** @type {HTMLElement | null} */ (element.querySelector('[aria-current="page"]') || element.querySelector('a, button'));
            current?.focus();
        },
        destroy() {
            cleanups.forEach((fn) => fn());
        },
    };
}
