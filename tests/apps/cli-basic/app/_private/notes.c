/* Private folder: never routed, never compiled. */
this is not C and must never reach a compiler
