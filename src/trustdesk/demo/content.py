"""Phrase banks for the demo data set: people, places and what they write.

Text exists in English, Spanish and Portuguese so that language routing has something to do.
Violating lines are deliberately plain and non-graphic: they show reviewers what a policy
looks like in a queue, nothing more. Links point at the reserved `.example` domain, phone
numbers into ranges set aside for fiction, and no line puts a minor in anything sexual.
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("en", "es", "pt")


@dataclass(frozen=True)
class Place:
    """Where a demo person lives, and what they write in."""

    country: str
    regions: tuple[str, ...]  # ISO 3166-2
    locale: str
    language: str  # what they write in: one of LANGUAGES
    names: str  # the name bank their names come from
    currency: str
    weight: int  # relative share of the demo's people


PLACES: tuple[Place, ...] = (
    Place("DE", ("DE-BE", "DE-BY", "DE-HH", "DE-NW"), "de-DE", "en", "de", "EUR", 10),
    Place("FR", ("FR-IDF", "FR-ARA", "FR-PAC"), "fr-FR", "en", "fr", "EUR", 8),
    Place("ES", ("ES-MD", "ES-CT", "ES-AN", "ES-VC"), "es-ES", "es", "es", "EUR", 12),
    Place("IT", ("IT-RM", "IT-MI", "IT-NA"), "it-IT", "en", "it", "EUR", 6),
    Place("NL", ("NL-NH", "NL-ZH", "NL-UT"), "nl-NL", "en", "nl", "EUR", 4),
    Place("PL", ("PL-MZ", "PL-MA"), "pl-PL", "en", "pl", "EUR", 4),
    Place("PT", ("PT-11", "PT-13"), "pt-PT", "pt", "pt", "EUR", 6),
    Place("SE", ("SE-AB", "SE-O"), "sv-SE", "en", "sv", "EUR", 2),
    Place("IE", ("IE-D", "IE-CO"), "en-IE", "en", "en", "EUR", 3),
    Place("BE", ("BE-BRU", "BE-VAN"), "nl-BE", "en", "nl", "EUR", 2),
    Place("AT", ("AT-9", "AT-6"), "de-AT", "en", "de", "EUR", 2),
    Place("GB", ("GB-ENG", "GB-SCT", "GB-WLS"), "en-GB", "en", "en", "GBP", 12),
    Place("US", ("US-CA", "US-NY", "US-TX", "US-FL", "US-WA", "US-IL"), "en-US", "en", "en", "USD", 14),
    Place("US", ("US-CA", "US-TX", "US-FL"), "es-US", "es", "es", "USD", 4),
    Place("BR", ("BR-SP", "BR-RJ", "BR-MG", "BR-BA"), "pt-BR", "pt", "pt", "BRL", 11),
)

FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("Olivia", "James", "Amelia", "Noah", "Isla", "Liam", "Grace", "Ethan", "Chloe", "Ryan"),
    "es": ("Lucía", "Mateo", "Carmen", "Javier", "Sofía", "Diego", "Elena", "Pablo", "Valeria", "Andrés"),
    "pt": ("Beatriz", "João", "Mariana", "Pedro", "Ana", "Rafael", "Larissa", "Tiago", "Camila", "Gustavo"),
    "de": ("Lena", "Jonas", "Mia", "Felix", "Hannah", "Lukas", "Emma", "Paul", "Lea", "Moritz"),
    "fr": ("Camille", "Hugo", "Léa", "Louis", "Manon", "Jules", "Chloé", "Arthur", "Inès", "Théo"),
    "it": ("Giulia", "Lorenzo", "Chiara", "Matteo", "Sara", "Andrea", "Martina", "Davide", "Elisa", "Marco"),
    "nl": ("Sanne", "Daan", "Fleur", "Bram", "Lotte", "Thijs", "Noor", "Sem", "Julia", "Ruben"),
    "pl": ("Zofia", "Jakub", "Maja", "Kacper", "Alicja", "Szymon", "Natalia", "Filip", "Oliwia", "Bartek"),
    "sv": ("Elsa", "Oskar", "Alva", "Axel", "Wilma", "Elias", "Ebba", "Hugo", "Saga", "Viktor"),
}

LAST_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("Smith", "Walsh", "Carter", "Hughes", "Bennett", "Murphy", "Reed", "Foster"),
    "es": ("García", "Martínez", "López", "Sánchez", "Romero", "Navarro", "Ortega", "Molina"),
    "pt": ("Silva", "Santos", "Oliveira", "Costa", "Pereira", "Almeida", "Ferreira", "Rocha"),
    "de": ("Müller", "Schmidt", "Wagner", "Becker", "Hoffmann", "Schulz", "Koch", "Richter"),
    "fr": ("Martin", "Bernard", "Dubois", "Moreau", "Laurent", "Girard", "Fournier", "Lambert"),
    "it": ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Greco"),
    "nl": ("de Jong", "Jansen", "de Vries", "Bakker", "Visser", "Smit", "Meijer", "Mulder"),
    "pl": ("Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kamiński", "Lewandowski", "Zieliński", "Szymański"),
    "sv": ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson"),
}

INTERESTS = (
    "hiking", "cooking", "travel", "live music", "films", "running", "yoga", "board games",
    "photography", "dogs", "cats", "books", "football", "climbing", "dancing", "coffee", "gardening",
)

# A dating bio is an opener, a middle and a closer in the writer's language.
BIO_PARTS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "en": (
        ("Coffee first, adventures second.", "Nurse by day, amateur baker by night.", "New to the city.",
         "Teacher, runner, terrible singer.", "Just moved back home after a few years abroad."),
        ("Weekends are for hiking and long lunches.", "I will judge you a little on your pizza toppings.",
         "Currently learning to climb and mostly falling.", "Looking for someone to try new restaurants with.",
         "Two cats, one plant that refuses to die."),
        ("Say hi if you like dogs.", "Tell me your favourite film.", "Let's grab a coffee and see.",
         "Not here for pen pals.", "Bonus points for bad puns."),
    ),
    "es": (
        ("Primero café, después aventuras.", "Enfermera de día, repostera aficionada de noche.",
         "Recién llegado a la ciudad.", "Profe, corredor y pésimo cantante.", "Volví a casa después de unos años fuera."),
        ("Los fines de semana son para el monte y las comidas largas.", "Te juzgaré un poco por la pizza que pides.",
         "Aprendiendo a escalar y sobre todo a caerme.", "Busco a alguien para probar restaurantes nuevos.",
         "Dos gatos y una planta que se niega a morir."),
        ("Escríbeme si te gustan los perros.", "Cuéntame tu película favorita.", "¿Un café y vemos qué tal?",
         "No busco amigos por correspondencia.", "Puntos extra por los chistes malos."),
    ),
    "pt": (
        ("Primeiro café, depois aventura.", "Enfermeira de dia, confeiteira amadora à noite.",
         "Novo na cidade.", "Professor, corredor e péssimo cantor.", "Voltei pra casa depois de uns anos fora."),
        ("Fim de semana é pra trilha e almoço demorado.", "Vou te julgar um pouco pelo sabor de pizza.",
         "Aprendendo escalada e caindo bastante.", "Procuro alguém pra conhecer restaurantes novos.",
         "Dois gatos e uma planta que se recusa a morrer."),
        ("Me chama se você gosta de cachorro.", "Me conta seu filme favorito.", "Um café e a gente vê no que dá?",
         "Não procuro amizade por correspondência.", "Pontos extras por trocadilho ruim."),
    ),
}

@dataclass(frozen=True)
class ChatLines:
    """What people say in a harmless chat; questions and invitations come with their answer."""

    openers: tuple[str, ...]
    greetings: tuple[str, ...]  # a reply that fits any opener
    questions: tuple[tuple[str, str], ...]
    invitations: tuple[tuple[str, str], ...]
    doubts: tuple[str, ...]  # how a target answers a money pitch


CHAT: dict[str, ChatLines] = {
    "en": ChatLines(
        ("Hey! Your hiking photos look amazing.", "Hi there, how's your week going?", "Hello! Fellow dog person, I see.",
         "Hi! Love your taste in films."),
        ("Hi! Thanks, nice to match with you :)", "Hey :) Good to hear from you.", "Hello! Thanks for writing first."),
        (("What do you usually do on weekends?", "Mostly long walks and too much coffee."),
         ("Have you been to the new ramen place downtown?", "Not yet, is it worth the queue?"),
         ("What's the best film you saw this year?", "Probably the one about the lighthouse keeper."),
         ("Where did you grow up?", "A small town by the coast, I moved here for work.")),
        (("Would you like to grab a drink on Thursday?", "Sounds great, see you then!"),
         ("I'm free on Saturday afternoon if you fancy a walk.", "Sure, send me the place and time."),
         ("Coffee next week?", "Let me check my shifts and get back to you.")),
        ("Really? I don't know much about crypto.", "How does that work exactly?", "That sounds a bit risky to me."),
    ),
    "es": ChatLines(
        ("¡Hola! Tus fotos de montaña son una pasada.", "Hola, ¿qué tal la semana?", "¡Hola! Veo que también te gustan los perros.",
         "¡Hola! Me encanta tu gusto en pelis."),
        ("¡Hola! Gracias, me alegro del match :)", "Hola :) Qué bien saber de ti.", "¡Hola! Gracias por escribir primero."),
        (("¿Qué sueles hacer los fines de semana?", "Sobre todo pasear y tomar demasiado café."),
         ("¿Has ido al sitio de ramen nuevo del centro?", "Todavía no, ¿merece la pena la cola?"),
         ("¿Cuál es la mejor peli que has visto este año?", "Creo que la del farero."),
         ("¿Dónde te criaste?", "En un pueblo de la costa, me mudé aquí por trabajo.")),
        (("¿Te apetece tomar algo el jueves?", "¡Genial, nos vemos!"),
         ("El sábado por la tarde estoy libre, ¿damos un paseo?", "Claro, pásame sitio y hora."),
         ("¿Un café la semana que viene?", "Déjame mirar mis turnos y te digo.")),
        ("¿En serio? No sé mucho de criptomonedas.", "¿Y eso cómo funciona?", "Me parece un poco arriesgado."),
    ),
    "pt": ChatLines(
        ("Oi! Suas fotos de trilha estão incríveis.", "Oi, como está sua semana?", "Olá! Vi que você também curte cachorro.",
         "Oi! Adorei seu gosto pra filmes."),
        ("Oi! Obrigada, que bom o match :)", "Oi :) Que bom ter notícias suas.", "Olá! Obrigado por escrever primeiro."),
        (("O que você costuma fazer no fim de semana?", "Geralmente caminhar e tomar café demais."),
         ("Já foi no restaurante de lámen novo do centro?", "Ainda não, vale a fila?"),
         ("Qual o melhor filme que você viu este ano?", "Acho que aquele do faroleiro."),
         ("Onde você cresceu?", "Numa cidade pequena no litoral, vim pra cá pelo trabalho.")),
        (("Quer tomar alguma coisa na quinta?", "Ótimo, até lá!"),
         ("Sábado à tarde estou livre, bora dar uma volta?", "Claro, me manda o lugar e a hora."),
         ("Um café semana que vem?", "Deixa eu ver meus plantões e te falo.")),
        ("Sério? Não entendo nada de cripto.", "E como isso funciona?", "Me parece meio arriscado."),
    ),
}

# Violating lines, per policy and language. `{code}` becomes a short token in links.
ROMANCE_SCAM: dict[str, tuple[str, ...]] = {
    "en": (
        "I feel a real connection with you, I have never felt this so fast.",
        "Let's move to WhatsApp, I don't use this app much.",
        "My uncle taught me crypto trading, I made 40% last month. I can show you how.",
        "Register at https://coin-yield.example/invite/{code} and deposit 300 USDT, I will guide you step by step.",
        "I'm stuck abroad and my bank card is blocked. Could you send me a gift card? I'll pay you back next week.",
    ),
    "es": (
        "Siento una conexión muy especial contigo, nunca me había pasado tan rápido.",
        "Mejor hablamos por WhatsApp, casi no uso esta app.",
        "Mi tío me enseñó a invertir en criptomonedas, gané un 40% el mes pasado. Te puedo enseñar.",
        "Regístrate en https://coin-yield.example/invite/{code} y deposita 300 USDT, yo te guío paso a paso.",
        "Estoy atrapado en el extranjero y mi tarjeta está bloqueada. ¿Me envías una tarjeta regalo? Te lo devuelvo la semana que viene.",
    ),
    "pt": (
        "Sinto uma conexão muito especial com você, nunca senti isso tão rápido.",
        "Vamos conversar no WhatsApp, quase não uso este app.",
        "Meu tio me ensinou a investir em cripto, ganhei 40% no mês passado. Posso te mostrar.",
        "Cadastre-se em https://coin-yield.example/invite/{code} e deposite 300 USDT, eu te ajudo passo a passo.",
        "Estou preso no exterior e meu cartão foi bloqueado. Pode me mandar um cartão-presente? Te pago semana que vem.",
    ),
}

SCAM_BIOS: dict[str, tuple[str, ...]] = {
    "en": ("Widowed civil engineer working on an offshore platform. Honest and loyal, looking for my soulmate.",
           "Army doctor on a peacekeeping mission. I believe in true love and second chances."),
    "es": ("Ingeniero viudo trabajando en una plataforma petrolera. Honesto y leal, busco a mi alma gemela.",
           "Médico militar en misión de paz. Creo en el amor verdadero y en las segundas oportunidades."),
    "pt": ("Engenheiro viúvo trabalhando numa plataforma de petróleo. Honesto e leal, procuro minha alma gêmea.",
           "Médico do exército em missão de paz. Acredito no amor verdadeiro e em segundas chances."),
}

SPAM_LINES: dict[str, tuple[str, ...]] = {
    "en": ("I'm hardly on here, follow me at https://free-gift.example/claim?ref={code} for free gift cards!",
           "Earn 500 EUR a day from home, no experience needed: https://fast-cash.example/{code}"),
    "es": ("Casi no entro aquí, sígueme en https://free-gift.example/claim?ref={code} y llévate tarjetas regalo gratis.",
           "Gana 500 EUR al día desde casa, sin experiencia: https://fast-cash.example/{code}"),
    "pt": ("Quase não entro aqui, me segue em https://free-gift.example/claim?ref={code} e ganhe cartões-presente grátis.",
           "Ganhe 500 EUR por dia em casa, sem experiência: https://fast-cash.example/{code}"),
}

HARASSMENT_LINES: dict[str, tuple[str, ...]] = {
    "en": ("Why are you ignoring me? Answer me.",
           "You think you're better than me? You're ugly and boring, nobody will ever want you.",
           "I'll keep making new accounts until you talk to me."),
    "es": ("¿Por qué me ignoras? Contéstame.",
           "¿Te crees mejor que yo? Eres fea y aburrida, nadie te va a querer nunca.",
           "Voy a seguir creando cuentas hasta que me hables."),
    "pt": ("Por que você está me ignorando? Me responde.",
           "Você se acha melhor que eu? Você é feia e chata, ninguém nunca vai te querer.",
           "Vou continuar criando contas até você falar comigo."),
}

HATE_LINES: dict[str, tuple[str, ...]] = {
    "en": ("People from your country are all thieves. Go back where you came from, you don't belong here.",
           "Your religion is a disease and people like you should be banned from this app."),
    "es": ("La gente de tu país son todos unos ladrones. Vuelve a tu tierra, aquí no pintas nada.",
           "Tu religión es una enfermedad y la gente como tú debería estar prohibida en esta app."),
    "pt": ("Gente do seu país é tudo ladrão. Volta pra sua terra, aqui não é o seu lugar.",
           "Sua religião é uma doença e gente como você devia ser banida deste app."),
}

THREAT_LINES: dict[str, str] = {
    "en": "I know where you live. If you don't meet me tonight I'll come to your place and you will regret it.",
    "es": "Sé dónde vives. Si no quedas conmigo esta noche iré a tu casa y te vas a arrepentir.",
    "pt": "Eu sei onde você mora. Se não me encontrar hoje à noite eu vou até sua casa e você vai se arrepender.",
}

SELF_HARM_LINES: dict[str, str] = {
    "en": "I can't do this anymore. After tonight nobody will have to deal with me again.",
    "es": "Ya no puedo más. Después de esta noche nadie tendrá que aguantarme.",
    "pt": "Não aguento mais. Depois de hoje à noite ninguém vai precisar me aturar.",
}

IMPERSONATION_BIOS: dict[str, str] = {
    "en": "Official private profile of Marco Ventura (actor). Fans only: message me for a verified meet and greet.",
    "es": "Perfil privado oficial de Marco Ventura (actor). Solo fans: escríbeme para un encuentro verificado.",
    "pt": "Perfil privado oficial de Marco Ventura (ator). Só para fãs: me chama para um encontro verificado.",
}
IMPERSONATED_NAME = "Marco Ventura"

# Profiles whose own words give the age away; the account declared an adult age at sign-up.
UNDERAGE_BIOS: dict[str, str] = {
    "en": "I'm 15, my cousin helped me make this. Just looking for friends to play games with lol",
    "es": "Tengo 15 años, mi prima me ayudó a hacer el perfil. Solo busco amigos para jugar online",
    "pt": "Tenho 15 anos, minha prima me ajudou a criar o perfil. Só quero amigos pra jogar online",
}


# An adult's messages to a member whose profile says 15, in the pattern reviewers of grooming
# learn to see (flattery, secrecy, another app, gifts, a meeting); nothing sexual is written.
GROOMING_LINES: dict[str, tuple[str, ...]] = {
    "en": ("You're really mature for 15, you know that? Not like the kids at your school.",
           "Don't tell your parents we talk, they wouldn't understand. This is just between us.",
           "Add me on another app, it's more private there. I'll send you a gift card for your games.",
           "I could pick you up after school on Friday. Nobody needs to know."),
    "es": ("Eres muy madura para tener 15, ¿lo sabías? No como los chicos de tu colegio.",
           "No les digas a tus padres que hablamos, no lo entenderían. Esto queda entre nosotros.",
           "Agrégame en otra app, ahí es más privado. Te mando una tarjeta regalo para tus juegos.",
           "Podría recogerte a la salida del colegio el viernes. Nadie tiene por qué saberlo."),
    "pt": ("Você é bem madura pra 15 anos, sabia? Não é como a galera da sua escola.",
           "Não conta pros seus pais que a gente conversa, eles não iam entender. Fica entre nós.",
           "Me adiciona em outro app, lá é mais privado. Te mando um cartão-presente pros seus jogos.",
           "Eu podia te buscar na saída da escola na sexta. Ninguém precisa saber."),
}


@dataclass(frozen=True)
class Product:
    title: str
    text: str
    category: str
    price_range: tuple[int, int]  # in whole currency units


PRODUCTS: dict[str, tuple[Product, ...]] = {
    "en": (
        Product("Handmade ceramic mug", "Wheel-thrown stoneware mug, 350 ml, dishwasher safe.", "home", (12, 30)),
        Product("Vintage denim jacket", "Nineties cut, size M, light fading on the sleeves.", "fashion", (25, 70)),
        Product("Used road bike", "Aluminium frame, 54 cm, new tyres, serviced in spring.", "sports", (180, 450)),
        Product("Oak bookshelf", "Five shelves, 180 cm tall, collection only.", "home", (60, 150)),
        Product("Hand-knitted wool scarf", "Merino wool, two metres long, forest green.", "fashion", (20, 45)),
        Product("Board game bundle", "Three family games, all pieces checked and complete.", "toys", (25, 60)),
        Product("Leather notebook", "A5 refillable notebook with hand-stitched cover.", "stationery", (15, 40)),
        Product("Succulent starter set", "Six small succulents in terracotta pots.", "garden", (18, 35)),
        Product("Film camera", "35 mm compact, tested with a roll, works well.", "electronics", (40, 120)),
        Product("Silver hoop earrings", "Sterling silver, 2 cm, handmade.", "jewellery", (25, 65)),
    ),
    "es": (
        Product("Taza de cerámica artesanal", "Taza de gres hecha a torno, 350 ml, apta para lavavajillas.", "home", (12, 30)),
        Product("Chaqueta vaquera vintage", "Corte de los noventa, talla M, algo desgastada en las mangas.", "fashion", (25, 70)),
        Product("Bicicleta de carretera usada", "Cuadro de aluminio, talla 54, ruedas nuevas.", "sports", (180, 450)),
        Product("Bufanda de lana tejida a mano", "Lana merino, dos metros, verde bosque.", "fashion", (20, 45)),
        Product("Lote de juegos de mesa", "Tres juegos familiares, todas las piezas revisadas.", "toys", (25, 60)),
        Product("Pendientes de plata", "Plata de ley, 2 cm, hechos a mano.", "jewellery", (25, 65)),
    ),
    "pt": (
        Product("Caneca de cerâmica artesanal", "Caneca de grés feita no torno, 350 ml, pode ir à lava-louças.", "home", (12, 30)),
        Product("Jaqueta jeans vintage", "Corte anos noventa, tamanho M, um pouco desbotada nas mangas.", "fashion", (25, 70)),
        Product("Bicicleta speed usada", "Quadro de alumínio, tamanho 54, pneus novos.", "sports", (180, 450)),
        Product("Cachecol de lã tricotado à mão", "Lã merino, dois metros, verde-musgo.", "fashion", (20, 45)),
        Product("Kit de jogos de tabuleiro", "Três jogos de família, todas as peças conferidas.", "toys", (25, 60)),
        Product("Brincos de prata", "Prata 925, 2 cm, feitos à mão.", "jewellery", (25, 65)),
    ),
}

# Fictional brands, so the counterfeit listings copy nobody real.
BRANDS = ("Valenté Paris", "Aurum Milano", "Kestrel")

COUNTERFEIT: dict[str, tuple[Product, ...]] = {
    "en": (
        Product("{brand} handbag 1:1 mirror replica", "Same logo, same stitching, comes with authenticity card and dust bag. Nobody will know.", "fashion", (35, 60)),
        Product("{brand} sneakers AAA copy", "Top quality replica, identical to the original box. Ships from our factory.", "fashion", (25, 45)),
    ),
    "es": (
        Product("Bolso {brand} réplica 1:1", "Mismo logo, mismas costuras, con tarjeta de autenticidad y funda. Nadie lo notará.", "fashion", (35, 60)),
        Product("Zapatillas {brand} copia AAA", "Réplica de máxima calidad, caja idéntica a la original.", "fashion", (25, 45)),
    ),
    "pt": (
        Product("Bolsa {brand} réplica 1:1", "Mesmo logo, mesma costura, vem com cartão de autenticidade. Ninguém vai perceber.", "fashion", (35, 60)),
        Product("Tênis {brand} cópia AAA", "Réplica primeira linha, caixa idêntica à original.", "fashion", (25, 45)),
    ),
}

SCAM_LISTINGS: dict[str, Product] = {
    "en": Product("Game console, brand new, sealed", "Half the shop price! Bank transfer only, message me on WhatsApp, I don't answer here.", "electronics", (60, 90)),
    "es": Product("Videoconsola nueva, precintada", "¡A mitad de precio! Solo transferencia bancaria, escríbeme por WhatsApp, aquí no contesto.", "electronics", (60, 90)),
    "pt": Product("Videogame novo, lacrado", "Metade do preço da loja! Só transferência bancária, me chama no WhatsApp, aqui não respondo.", "electronics", (60, 90)),
}

SHOP_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "en": (("Little", "Old Town", "Northern", "Blue Door", "Second Chance", "Oak & Ash"), ("Studio", "Finds", "Workshop", "Corner", "Market", "Goods")),
    "es": (("Casa", "Taller", "Rincón", "Mercadillo", "Baúl"), ("Verde", "del Sur", "de Lola", "Azul", "Viejo")),
    "pt": (("Ateliê", "Cantinho", "Brechó", "Loja", "Baú"), ("da Vila", "Azul", "do Porto", "Bonito", "da Ana")),
}

REVIEWS: dict[str, tuple[str, ...]] = {
    "en": ("Fast shipping and exactly as described.", "Lovely quality, would buy again.",
           "Arrived a bit late but the seller was friendly.", "Not quite the colour in the photos, seller offered a refund.",
           "Great communication, well packed."),
    "es": ("Envío rápido y tal como se describe.", "Muy buena calidad, repetiría.",
           "Llegó algo tarde pero el vendedor fue muy amable.", "El color no es igual que en las fotos, el vendedor ofreció devolución."),
    "pt": ("Entrega rápida e exatamente como descrito.", "Qualidade ótima, compraria de novo.",
           "Chegou um pouco atrasado mas o vendedor foi atencioso.", "A cor não é igual à da foto, o vendedor ofereceu reembolso."),
}

SPAM_REVIEWS: dict[str, str] = {
    "en": "Great shop!! Also get 10k followers cheap at https://cheap-followers.example/{code}",
    "es": "¡¡Gran tienda!! Consigue 10 mil seguidores baratos en https://cheap-followers.example/{code}",
    "pt": "Loja ótima!! Ganhe 10 mil seguidores barato em https://cheap-followers.example/{code}",
}

HARASSMENT_REVIEWS: dict[str, str] = {
    "en": "The seller is a useless idiot. I hope your shop goes bankrupt and everyone laughs at you.",
    "es": "El vendedor es un inútil y un idiota. Ojalá tu tienda quiebre y todo el mundo se ría de ti.",
    "pt": "O vendedor é um idiota inútil. Tomara que sua loja vá à falência e todo mundo ria de você.",
}

# What a user writes when reporting something that does break the policy.
GENUINE_COMPLAINTS: dict[str, dict[str, str]] = {
    "SCAM": {"en": "They asked me to invest in crypto and send money.", "es": "Me pidió que invirtiera en criptomonedas y le enviara dinero.",
             "pt": "Pediu pra eu investir em cripto e mandar dinheiro."},
    "HARASSMENT": {"en": "Keeps insulting me after I stopped replying.", "es": "Me sigue insultando aunque dejé de contestar.",
                   "pt": "Continua me xingando depois que parei de responder."},
    "SPAM": {"en": "Just posting links to some gift card site.", "es": "Solo manda enlaces a una web de tarjetas regalo.",
             "pt": "Só manda link de um site de cartão-presente."},
    "HATE_SPEECH": {"en": "Attacked me for where I'm from.", "es": "Me atacó por mi país de origen.",
                    "pt": "Me atacou por causa de onde eu venho."},
    "IMPERSONATION": {"en": "This is not the real actor, it's a fake profile.", "es": "No es el actor de verdad, es un perfil falso.",
                      "pt": "Não é o ator de verdade, é perfil falso."},
    "UNDERAGE_USER": {"en": "Says in their bio they are 15.", "es": "Dice en su perfil que tiene 15 años.",
                      "pt": "Diz no perfil que tem 15 anos."},
    "COUNTERFEIT": {"en": "Obvious replica of a designer brand.", "es": "Es una réplica evidente de una marca.",
                    "pt": "Réplica óbvia de uma marca de grife."},
    "VIOLENT_THREATS": {"en": "Threatened to come to my house tonight. I'm scared.", "es": "Me amenazó con venir a mi casa esta noche. Tengo miedo.",
                        "pt": "Ameaçou vir na minha casa hoje à noite. Estou com medo."},
    "CHILD_GROOMING": {"en": "An adult keeps telling me to keep our chats secret and wants to pick me up after school.",
                       "es": "Un adulto me dice que no cuente nada de nuestras charlas y quiere recogerme a la salida del colegio.",
                       "pt": "Um adulto fica pedindo pra eu não contar das nossas conversas e quer me buscar na saída da escola."},
    "SELF_HARM": {"en": "My match says they won't be around after tonight. Please help them.",
                  "es": "Mi match dice que después de esta noche ya no estará. Por favor, ayudadle.",
                  "pt": "Meu match disse que não vai estar mais aqui depois de hoje. Por favor, ajudem."},
}

# What a user writes when the thing reported breaks nothing: reviewers close these.
WEAK_COMPLAINTS: dict[str, tuple[str, ...]] = {
    "en": ("I don't like this.", "Looks fake to me.", "They unmatched me for no reason.", "Rude.",
           "Way too expensive, this is a rip-off.", "Seller took two days to answer.", "Reported by mistake, sorry.", ""),
    "es": ("No me gusta.", "Me parece falso.", "Me deshizo el match sin motivo.", "Maleducado.",
           "Carísimo, es un timo.", "El vendedor tardó dos días en contestar.", "Lo reporté sin querer, perdón.", ""),
    "pt": ("Não gostei.", "Parece falso.", "Desfez o match sem motivo.", "Grosso.",
           "Caro demais, é um roubo.", "Vendedor demorou dois dias pra responder.", "Denunciei sem querer, desculpa.", ""),
}

# Who files Art. 16 notices as a trusted flagger, and who sends legal notices, per app.
TRUSTED_FLAGGERS: dict[str, tuple[str, str]] = {
    "dating": ("SafeNet Online Safety Hotline", "notices@safenet-hotline.example"),
    "market": ("Brand Integrity Network", "notices@brand-integrity.example"),
}
LEGAL_NOTIFIERS: dict[str, tuple[str, str]] = {
    "dating": ("Hart & Lowe LLP, for Marco Ventura", "counsel@hart-lowe.example"),
    "market": ("Studio Legale Conti, for Valenté Paris, Aurum Milano and Kestrel", "ip@studio-conti.example"),
}
