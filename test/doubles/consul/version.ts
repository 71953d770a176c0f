// The version the consul double reports everywhere.
export const VERSION = '1.10.12';
