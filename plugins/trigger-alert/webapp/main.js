// trigger-alert, web part: a channel-header button ("Trigger words") that opens a
// dialog to view, add and remove the signed-in user's trigger words through the
// plugin's HTTP endpoint. Plain JavaScript, no build step; the Chorus web app loads
// this file and calls initialize(registry, store). See docs/plugin-webapp.md.
//
// The alerts themselves need no code here: the server part sends them as ephemeral
// posts, which the web app shows in their channel ("only visible to you") or marks
// the channel unread.
(function () {
    'use strict';

    const PLUGIN_ID = 'com.chorus.trigger-alert';
    const API = '/plugins/' + PLUGIN_ID + '/api/v1/triggers';

    let store = null;
    let openDialog = null; // the dialog element while open

    async function call(method, path, body) {
        const options = { method: method, headers: {} };
        if (body !== undefined) {
            options.headers['Content-Type'] = 'application/json';
            options.body = JSON.stringify(body);
        }
        let response;
        try {
            response = await store.fetch(API + (path || ''), options);
        } catch (err) {
            throw new Error('Cannot reach the server: ' + err.message);
        }
        let data = null;
        try {
            data = await response.json();
        } catch (err) {
            data = null;
        }
        if (!response.ok) {
            const message = (data && (data.error || data.message)) || response.status + ' ' + response.statusText;
            throw new Error(message);
        }
        return (data && data.words) || [];
    }

    function el(tag, attrs, children) {
        const node = document.createElement(tag);
        Object.keys(attrs || {}).forEach(function (name) {
            const value = attrs[name];
            if (name.indexOf('on') === 0) {
                node.addEventListener(name.slice(2), value);
            } else if (name === 'text') {
                node.textContent = value;
            } else {
                node.setAttribute(name, value);
            }
        });
        (children || []).forEach(function (child) {
            if (child) {
                node.append(child);
            }
        });
        return node;
    }

    function showDialog() {
        if (openDialog) {
            openDialog.querySelector('input').focus();
            return;
        }
        const uid = 'trigger-alert-' + Math.random().toString(36).slice(2);
        const list = el('ul', { class: 'pick-list', 'aria-live': 'polite', 'aria-label': 'Your trigger words' });
        const status = el('p', { class: 'form-error', role: 'alert' });
        const input = el('input', { type: 'text', id: uid + '-word', maxlength: '64', autocomplete: 'off', spellcheck: 'false' });
        const addButton = el('button', { type: 'submit', class: 'button primary', text: 'Add' });
        const form = el('form', { class: 'form' }, [
            el('div', { class: 'field' }, [
                el('label', { for: uid + '-word', text: 'New trigger word' }),
                el('div', { class: 'actions left' }, [input, addButton]),
                el('p', { class: 'help', text: 'Letters, digits, "-" or "_". You are alerted when someone else posts it in a channel you are in.' }),
            ]),
        ]);
        const dialog = el('dialog', { class: 'dialog', 'aria-labelledby': uid + '-title' }, [
            el('div', { class: 'dialog-head' }, [
                el('h2', { id: uid + '-title', text: 'Trigger words' }),
                el('button', { type: 'button', class: 'icon-button dialog-close', 'aria-label': 'Close', text: '×', onclick: function () { dialog.close(); } }),
            ]),
            el('div', { class: 'dialog-body' }, [form, status, el('h3', { text: 'Your trigger words' }), list]),
        ]);

        function render(words) {
            list.replaceChildren();
            if (words.length === 0) {
                list.append(el('li', { class: 'muted', text: 'You have no trigger words yet.' }));
            }
            words.forEach(function (word) {
                list.append(el('li', { 'data-word': word }, [
                    el('span', { class: 'pick-name', text: word }),
                    el('button', {
                        type: 'button',
                        class: 'button small danger',
                        'aria-label': 'Remove ' + word,
                        text: 'Remove',
                        onclick: function () {
                            status.textContent = '';
                            call('DELETE', '/' + encodeURIComponent(word)).then(function (next) {
                                render(next);
                                input.focus();
                            }, function (err) {
                                status.textContent = err.message;
                            });
                        },
                    }),
                ]));
            });
        }

        form.addEventListener('submit', function (event) {
            event.preventDefault();
            const word = input.value.trim();
            status.textContent = '';
            if (!word) {
                status.textContent = 'Type a word to add.';
                input.focus();
                return;
            }
            addButton.disabled = true;
            call('POST', '', { word: word }).then(function (words) {
                input.value = '';
                render(words);
            }, function (err) {
                status.textContent = err.message;
            }).finally(function () {
                addButton.disabled = false;
                input.focus();
            });
        });
        dialog.addEventListener('close', function () {
            dialog.remove();
            if (openDialog === dialog) {
                openDialog = null;
            }
        });

        list.append(el('li', { class: 'muted', text: 'Loading…' }));
        document.body.append(dialog);
        openDialog = dialog;
        dialog.showModal();
        input.focus();
        call('GET').then(render, function (err) {
            list.replaceChildren();
            status.textContent = err.message;
        });
    }

    function bellIcon() {
        const ns = 'http://www.w3.org/2000/svg';
        const svg = document.createElementNS(ns, 'svg');
        svg.setAttribute('viewBox', '0 0 24 24');
        svg.setAttribute('width', '18');
        svg.setAttribute('height', '18');
        svg.setAttribute('aria-hidden', 'true');
        svg.setAttribute('focusable', 'false');
        const path = document.createElementNS(ns, 'path');
        path.setAttribute('fill', 'currentColor');
        path.setAttribute('d', 'M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2z');
        svg.append(path);
        return svg;
    }

    window.registerPlugin(PLUGIN_ID, {
        initialize: function (registry, appStore) {
            store = appStore;
            registry.registerChannelHeaderButtonAction(
                function (element) {
                    element.append(bellIcon());
                },
                showDialog,
                'Trigger words',
                'Trigger words: get alerted when someone posts them',
            );
        },
        uninitialize: function () {
            if (openDialog) {
                openDialog.close();
            }
            store = null;
        },
    });
})();
