/** The ops feature's strings, kept apart so that its work does not collide with other features'. */
export const opsEn = {
} as const

export const opsPtBR: Record<keyof typeof opsEn, string> = {
}
