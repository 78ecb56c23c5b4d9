/** The flows feature's strings, kept apart so that its work does not collide with other features'. */
export const flowsEn = {
} as const

export const flowsPtBR: Record<keyof typeof flowsEn, string> = {
}
