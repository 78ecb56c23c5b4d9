import type { ReactNode } from 'react'

export function CenteredCard({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="flex min-h-full items-center justify-center p-4">
      <section
        aria-labelledby="card-title"
        className="w-full max-w-sm rounded-xl border border-slate-200 bg-white p-6 shadow-sm"
      >
        <h1 id="card-title" className="mb-4 text-xl font-semibold">
          {title}
        </h1>
        {children}
      </section>
    </main>
  )
}
