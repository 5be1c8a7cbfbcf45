// @ts-check
// Owns the sign-in and sign-up screens (before there is a model: they sign in through
// model.js's session functions and hand the user to app.js).

import { h, clear, field } from './dom.js';
import { logIn, signUp } from './model.js';

/** @typedef {import('./types.js').User} User */

/** @param {string} title @param {...(Node | string | null)} content */
function authLayout(title, ...content) {
    return h('main', { id: 'main', class: 'auth', tabindex: '-1' },
        h('div', { class: 'auth-card' },
            h('p', { class: 'brand-big', 'aria-hidden': 'true' }, 'Chorus'),
            h('h1', null, title),
            ...content,
        ));
}

/**
 * The login form. onDone(user) after a successful sign-in.
 * @param {HTMLElement} root
 * @param {{navigate: import('./types.js').Navigate, onDone: (user: User) => void, message: string}} options
 */
export function mountLogin(root, { navigate, onDone, message }) {
    const login = field('Username or email', h('input', { type: 'text', name: 'login_id', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false' }));
    const password = field('Password', h('input', { type: 'password', name: 'password', autocomplete: 'current-password' }));
    const error = h('p', { class: 'form-error', role: 'alert' });
    const info = message ? h('p', { class: 'info', role: 'status' }, message) : null;
    const submit = h('button', { type: 'submit', class: 'button primary wide' }, 'Log in');
    const form = h('form', { class: 'form', novalidate: true }, login.wrap, password.wrap, error, submit);
    form.addEventListener('submit', async (event) => {
        event.preventDefault();
        error.textContent = '';
        for (const f of [login, password]) {
            f.input.removeAttribute('aria-invalid');
        }
        const missing = [];
        if (!login.input.value.trim()) {
            missing.push(login);
        }
        if (!password.input.value) {
            missing.push(password);
        }
        if (missing.length) {
            missing.forEach((f) => f.input.setAttribute('aria-invalid', 'true'));
            error.textContent = missing.length === 2 ? 'Enter your username or email and your password.'
                : missing[0] === login ? 'Enter your username or email.' : 'Enter your password.';
            missing[0].input.focus();
            return;
        }
        submit.disabled = true;
        try {
            const user = await logIn(login.input.value.trim(), password.input.value);
            onDone(user);
        } catch (err) {
            error.textContent = err.message;
            password.input.select();
            password.input.focus();
        } finally {
            submit.disabled = false;
        }
    });
    clear(root).append(authLayout('Log in', info, form,
        h('p', { class: 'switch' }, 'No account yet? ', h('a', { href: '/signup', dataset: { link: '' } }, 'Create one'))));
    document.title = 'Log in - Chorus';
    (login.input.value ? password.input : login.input).focus();
    void navigate;
}

/**
 * The sign-up form: creates the account, then logs in.
 * @param {HTMLElement} root
 * @param {{onDone: (user: User) => void}} options
 */
export function mountSignup(root, { onDone }) {
    const username = field('Username', h('input', { type: 'text', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', maxlength: '64' }),
        'Lower-case letters, digits, ".", "-" and "_".');
    const email = field('Email', h('input', { type: 'email', autocomplete: 'email' }));
    const password = field('Password', h('input', { type: 'password', autocomplete: 'new-password' }));
    const error = h('p', { class: 'form-error', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'button primary wide' }, 'Create account');
    const form = h('form', { class: 'form', novalidate: true }, username.wrap, email.wrap, password.wrap, error, submit);
    form.addEventListener('submit', async (event) => {
        event.preventDefault();
        error.textContent = '';
        /** @type {Array<[{wrap: HTMLElement, input: HTMLInputElement}, string]>} */
        const fields = [[username, 'a username'], [email, 'an email address'], [password, 'a password']];
        const missing = fields.filter(([f]) => !f.input.value.trim());
        fields.forEach(([f]) => f.input.removeAttribute('aria-invalid'));
        if (missing.length) {
            missing.forEach(([f]) => f.input.setAttribute('aria-invalid', 'true'));
            const names = missing.map(([, what]) => what);
            const list = names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}` : names[0];
            error.textContent = `Enter ${list}.`;
            missing[0][0].input.focus();
            return;
        }
        if (!email.input.value.includes('@')) {
            email.input.setAttribute('aria-invalid', 'true');
            error.textContent = 'Enter a valid email address.';
            email.input.focus();
            return;
        }
        submit.disabled = true;
        try {
            await signUp({
                username: username.input.value.trim(),
                email: email.input.value.trim(),
                password: password.input.value,
            });
            const user = await logIn(username.input.value.trim(), password.input.value);
            onDone(user);
        } catch (err) {
            error.textContent = err.message;
            username.input.focus();
        } finally {
            submit.disabled = false;
        }
    });
    clear(root).append(authLayout('Create your account', form,
        h('p', { class: 'switch' }, 'Already have an account? ', h('a', { href: '/login', dataset: { link: '' } }, 'Log in'))));
    document.title = 'Sign up - Chorus';
    username.input.focus();
}
