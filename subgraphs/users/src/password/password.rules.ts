/**
 * Password strength, shared by registration, reset, change and the first administrator:
 * 10 to 128 characters, letters mixed with digits or symbols.
 */
export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 128;
export const PASSWORD_RULE = /^(?=.*[A-Za-z])(?=.*[^A-Za-z]).*$/;
export const PASSWORD_RULE_MESSAGE = 'password must mix letters with digits or symbols';

/** The problem with a password, or null when it is acceptable. */
export function passwordProblem(password: string): string | null {
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX)
    return `password must be ${PASSWORD_MIN}-${PASSWORD_MAX} characters`;
  return PASSWORD_RULE.test(password) ? null : PASSWORD_RULE_MESSAGE;
}
